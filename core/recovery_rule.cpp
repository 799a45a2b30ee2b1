#include "core/recovery_rule.h"

#include "core/error.h"

namespace pyk {

const char* to_string(RecoveryMode mode) {
  switch (mode) {
    case RecoveryMode::torn_tail: return "torn_tail";
    case RecoveryMode::point_in_time: return "point_in_time";
    case RecoveryMode::absolute_consistency: return "absolute_consistency";
  }
  return "?";
}

RecoveryMode parse_recovery_mode(std::string_view name) {
  for (const RecoveryMode mode : {RecoveryMode::torn_tail, RecoveryMode::point_in_time,
                                  RecoveryMode::absolute_consistency}) {
    if (name == to_string(mode)) return mode;
  }
  throw InvalidArgument("unknown recovery mode '" + std::string(name) +
                        "': use torn_tail, point_in_time or absolute_consistency");
}

RecoveryDecision decide_recovery(RecoveryMode mode, const LogProblem* first,
                                 std::uint64_t committed_end) {
  using Action = RecoveryDecision::Action;
  if (first == nullptr) return {Action::keep, committed_end, "no damage"};
  const std::string where = "at offset " + std::to_string(first->offset) + " (" + first->reason + ")";
  const std::string mode_name = std::string("recovery mode ") + to_string(mode);
  if (mode == RecoveryMode::absolute_consistency)
    return {Action::refuse, committed_end, mode_name + " refuses damage " + where};
  if (first->at_tail)
    return {Action::cut_tail, committed_end, "torn tail " + where + " is cut off"};
  if (mode == RecoveryMode::torn_tail)
    return {Action::refuse, committed_end,
            mode_name + " refuses damage followed by valid records " + where};
  return {Action::set_aside, committed_end,
          "damage followed by valid records " + where + ": " + mode_name +
              " keeps the log up to it and moves everything from offset " +
              std::to_string(committed_end) + " on to quarantine"};
}

}  // namespace pyk
