#include "tools/server/server.h"

#include <sys/resource.h>

#include <array>
#include <boost/asio.hpp>
#include <iostream>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "core/error.h"
#include "tools/server/session.h"

namespace pyk::server {

namespace asio = boost::asio;
using asio::ip::tcp;

class Connection;

class Server::Impl {
 public:
  Impl(Store& store, ServerState& state, SyncBatcher* batcher);
  void accept();
  void stop();
  void forget(Connection* connection);

  Store& store;
  ServerState& state;
  SyncBatcher* batcher;
  // Declared before io: handlers still queued when io is destroyed may hold
  // the last reference to a connection, whose destructor calls forget().
  std::mutex connections_mutex;
  std::unordered_set<Connection*> connections;  // guarded by connections_mutex
  bool stopping = false;                         // guarded by connections_mutex
  asio::io_context io;
  tcp::acceptor acceptor{io};
  asio::signal_set signals{io, SIGINT, SIGTERM};
};

// One client: reads, runs its session, writes, and reads again; one
// operation at a time, on the socket's strand.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Server::Impl& server, tcp::socket socket)
      : server_(server), socket_(std::move(socket)), session_(server.store, server.state) {}
  ~Connection() { server_.forget(this); }

  void start() { read(); }
  // Ends the connection once the command it is running (if any) is answered.
  void stop() {
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      self->stopping_ = true;
      if (self->reading_) self->socket_.cancel();
    });
  }

 private:
  void read() {
    reading_ = true;
    socket_.async_read_some(asio::buffer(read_buffer_),
                            [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                              self->reading_ = false;
                              if (ec) return self->close();
                              self->session_.receive({self->read_buffer_.data(), n});
                              self->process();
                            });
  }

  void process() {
    session_.run();
    if (session_.dropped()) return close();
    if (session_.output().empty()) {
      if (session_.closing() || stopping_) return close();
      return read();
    }
    if (session_.wrote() && server_.state.settings.sync == SyncMode::always) {
      // The replies wait for a sync that covers these writes; the work guard
      // keeps the event loop running for them during a shutdown.
      server_.batcher->after_sync(
          [self = shared_from_this(), work = asio::make_work_guard(socket_.get_executor())](bool durable) {
            asio::post(self->socket_.get_executor(), [self, durable] {
              durable ? self->write() : self->close();
            });
          });
      return;
    }
    write();
  }

  void write() {
    writing_.swap(session_.output());
    session_.sent();
    asio::async_write(socket_, asio::buffer(writing_),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        self->writing_.clear();
                        if (ec || self->session_.closing()) return self->close();
                        self->process();
                      });
  }

  void close() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  Server::Impl& server_;
  tcp::socket socket_;
  Session session_;
  std::array<char, 16 * 1024> read_buffer_;
  std::string writing_;
  bool reading_ = false;
  bool stopping_ = false;
};

Server::Impl::Impl(Store& store_, ServerState& state_, SyncBatcher* batcher_)
    : store(store_), state(state_), batcher(batcher_) {
  const auto& s = state.settings;
  try {
    const tcp::endpoint endpoint(asio::ip::make_address(s.bind), static_cast<std::uint16_t>(s.port));
    acceptor.open(endpoint.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
  } catch (const boost::system::system_error& e) {
    throw IoError("cannot listen on " + s.bind + ":" + std::to_string(s.port) + ": " +
                      e.code().message(),
                  s.bind, e.code().value());
  }
  signals.async_wait([this](boost::system::error_code ec, int) {
    if (!ec) stop();
  });
}

void Server::Impl::accept() {
  acceptor.async_accept(asio::make_strand(io), [this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;  // stopping
    if (!ec) {
      ++state.counters.total_connections;
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::shared_ptr<Connection> connection;
      {
        std::lock_guard lock(connections_mutex);
        if (stopping) {
          socket.close(ignored);
        } else if (connections.size() >= state.settings.max_clients) {
          ++state.counters.rejected_connections;
          static constexpr std::string_view kFull = "-ERR max number of clients reached\r\n";
          asio::write(socket, asio::buffer(kFull), ignored);  // a fresh socket's buffer takes it
        } else {
          connection = std::make_shared<Connection>(*this, std::move(socket));
          connections.insert(connection.get());
          ++state.counters.connected_clients;
        }
      }
      if (connection) connection->start();  // (outside the lock: see stop())
    } else if (ec == asio::error::no_descriptors) {  // out of file descriptors: wait a little
      std::cerr << "pyk-server: accept: " << ec.message() << '\n';
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    accept();
  });
}

void Server::Impl::forget(Connection* connection) {
  std::lock_guard lock(connections_mutex);
  connections.erase(connection);
  --state.counters.connected_clients;
}

void Server::Impl::stop() {
  asio::post(io, [this] {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    signals.cancel(ignored);
    std::vector<std::shared_ptr<Connection>> alive;
    {
      std::lock_guard lock(connections_mutex);
      stopping = true;
      for (Connection* connection : connections) {
        // A connection being destroyed (waiting for this mutex) is skipped.
        if (auto c = connection->weak_from_this().lock()) alive.push_back(std::move(c));
      }
    }
    // Outside the lock: dropping the last reference runs ~Connection, which takes it.
    for (const auto& c : alive) c->stop();
  });
}

Server::Server(Store& store, ServerState& state, SyncBatcher* batcher)
    : impl_(std::make_unique<Impl>(store, state, batcher)) {
  if (state.settings.sync == SyncMode::always && batcher == nullptr)
    throw InvalidArgument("--sync always needs a sync batcher");
}

Server::~Server() = default;

std::uint16_t Server::port() const { return impl_->acceptor.local_endpoint().port(); }

void Server::run(unsigned threads) {
  impl_->accept();
  std::vector<std::jthread> helpers;
  for (unsigned i = 1; i < threads; ++i) helpers.emplace_back([this] { impl_->io.run(); });
  impl_->io.run();
}

void Server::stop() { impl_->stop(); }

std::uint64_t raise_open_file_limit(std::uint64_t wanted) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < wanted) {
    limit.rlim_cur = std::min<rlim_t>(wanted, limit.rlim_max);
    setrlimit(RLIMIT_NOFILE, &limit);  // best effort: the old limit stays in force otherwise
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

}  // namespace pyk::server
