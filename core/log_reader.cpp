#include "core/log_reader.h"

#include <utility>

#include "core/error.h"

namespace pyk {

LogReader::LogReader(const Segment& segment, Mode mode, Reporter reporter, std::uint64_t start)
    : segment_(segment),
      mode_(mode),
      reporter_(std::move(reporter)),
      reader_(segment, start),
      committed_end_(start) {}

bool LogReader::tolerated(bool at_tail) const {
  return mode_ == Mode::tolerant || (mode_ == Mode::torn_tail && at_tail);
}

void LogReader::report(LogProblem problem) {
  if (reporter_) reporter_(problem);
  if (!tolerated(problem.at_tail))
    throw CorruptionError(problem.reason, segment_.describe(), problem.offset);
}

void LogReader::drop_batch(std::uint64_t until, const char* reason, bool at_tail) {
  in_batch_ = false;
  report({LogProblem::Kind::incomplete_batch, batch_.offset, until - batch_.offset, reason,
          at_tail});
}

void LogReader::hold(const Record& record) {
  batch_.records.push_back(record);
  batch_.bytes.append(record.key);
  batch_.bytes.append(record.value);
}

bool LogReader::next() {
  for (;;) {
    const auto step = reader_.next();
    if (step == RecordReader::Step::end) {
      if (in_batch_) drop_batch(reader_.valid_end(), "batch cut short at the end of the data", true);
      return false;
    }
    if (step == RecordReader::Step::damage) {
      const Damage& d = reader_.damage();
      // Where the damage is fatal, it is the error to report, not the batch it cut.
      if (in_batch_ && tolerated(d.at_tail)) drop_batch(d.offset, "batch interrupted by damage", d.at_tail);
      report({LogProblem::Kind::damaged_bytes, d.offset, d.length, d.reason, d.at_tail});
      continue;
    }
    const Record& r = reader_.record();
    ++records_read_;
    if (r.header.type == format::RecordType::batch) {
      if (in_batch_) drop_batch(r.offset, "batch followed by another batch before its end", false);
      const auto header = format::decode_batch_header(r.value);
      in_batch_ = true;
      batch_.offset = r.offset;
      batch_.header_size = r.size();
      batch_.end = r.offset + r.size() + header.length;
      batch_.count = header.count;
      batch_.records.clear();
      batch_.bytes.clear();
      if (batch_.count != 0) continue;
    } else if (!in_batch_) {
      unit_.offset = r.offset;
      unit_.end = reader_.valid_end();
      unit_.batch = false;
      unit_.header_size = 0;
      unit_.records.assign(1, r);
      committed_end_ = unit_.end;
      return true;
    } else {
      hold(r);
      if (batch_.records.size() < batch_.count) continue;
    }
    // The open batch has all its records: whole only if they end where its header says.
    if (reader_.valid_end() != batch_.end) {
      drop_batch(reader_.valid_end(),
                 batch_.count == 0 ? "empty batch with a nonzero length"
                                   : "batch length does not match its records",
                 false);
      continue;
    }
    in_batch_ = false;
    unit_.offset = batch_.offset;
    unit_.end = batch_.end;
    unit_.batch = true;
    unit_.header_size = batch_.header_size;
    unit_.records.swap(batch_.records);
    std::size_t at = 0;
    for (Record& held : unit_.records) {
      held.key = std::string_view(batch_.bytes).substr(at, held.header.key_size);
      at += held.header.key_size;
      held.value = std::string_view(batch_.bytes).substr(at, held.header.value_size);
      at += held.header.value_size;
    }
    committed_end_ = unit_.end;
    return true;
  }
}

}  // namespace pyk
