// LogReader: reads a datafile the way the store committed it — one record,
// or one whole batch — over RecordReader's physical records (as leveldb's
// log::Reader::ReadRecord reassembles fragments). Recovery, merge, hint
// writing, pyk-dump and pyk-fsck all read datafiles through it, so they
// agree on which records a datafile applies.
//
// A batch is a batch-header record (format.h) followed by exactly `count`
// records spanning exactly `length` bytes; anything else is an incomplete
// batch and applies nothing. Problems (damaged bytes, incomplete batches)
// go to a reporter; the Mode says which of them are fatal.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/format.h"
#include "core/record_reader.h"
#include "core/segment.h"

namespace pyk {

struct LogProblem {
  enum class Kind {
    damaged_bytes,     // bytes that are no valid record (bad CRC, impossible header, torn record)
    incomplete_batch,  // a batch that applies nothing: cut short, interrupted, or of the wrong length
  };
  Kind kind = Kind::damaged_bytes;
  std::uint64_t offset = 0;  // first byte concerned (a batch: its header)
  std::uint64_t length = 0;  // bytes concerned: up to the next valid record, or to the end
  std::string reason;
  bool at_tail = false;  // nothing valid follows: a torn (or garbage) tail
};

// One committed unit: a single value or tombstone record, or a whole batch.
struct LogUnit {
  std::uint64_t offset = 0;  // first byte; for a batch, its header's offset
  std::uint64_t end = 0;     // just past its last record
  bool batch = false;
  std::uint64_t header_size = 0;  // bytes of the batch-header record (0 if not a batch)
  // The value and tombstone records it applies, in log order. Keys and values
  // stay valid until the next call to LogReader::next().
  std::vector<Record> records;
};

class LogReader {
 public:
  enum class Mode {
    strict,      // any problem throws CorruptionError (a sealed segment must be whole)
    torn_tail,   // a problem at the tail is reported and ends the data; any other throws
    tolerant,    // every problem is reported and reading resumes after it (the tools)
  };
  using Reporter = std::function<void(const LogProblem&)>;

  // Reads `segment` from `start` (normally just past the file header). The
  // segment must outlive the reader; only bytes present now are read.
  LogReader(const Segment& segment, Mode mode, Reporter reporter = {},
            std::uint64_t start = format::kFileHeaderSize);

  // The next unit into unit(); false at the end of the data. Throws
  // CorruptionError (naming the file and offset) for a problem the mode does
  // not tolerate, after reporting it.
  bool next();
  const LogUnit& unit() const { return unit_; }

  // Just past the last unit returned (the start if none): where the data a
  // store may keep ends.
  std::uint64_t committed_end() const { return committed_end_; }

  // Valid records decoded so far, batch headers and records of dropped
  // batches included (what pyk-fsck counts).
  std::uint64_t records_read() const { return records_read_; }

 private:
  bool tolerated(bool at_tail) const;
  // Hands `problem` to the reporter; throws if the mode does not tolerate it.
  void report(LogProblem problem);
  // Turns the open batch into an incomplete-batch problem ending at `until`.
  void drop_batch(std::uint64_t until, const char* reason, bool at_tail);
  // Copies the keys and values of the open batch's records out of the
  // reader's window, which the next RecordReader::next() may overwrite.
  void hold(const Record& record);

  const Segment& segment_;
  const Mode mode_;
  const Reporter reporter_;
  RecordReader reader_;
  LogUnit unit_;
  std::uint64_t committed_end_;
  std::uint64_t records_read_ = 0;

  struct OpenBatch {
    std::uint64_t offset = 0;
    std::uint64_t header_size = 0;
    std::uint64_t end = 0;  // where its header says its records end
    std::uint32_t count = 0;
    std::vector<Record> records;  // keys and values not yet pointed into `bytes`
    std::string bytes;            // key then value of each record, in order
  };
  bool in_batch_ = false;
  OpenBatch batch_;
};

}  // namespace pyk
