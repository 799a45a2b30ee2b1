// The rule for damage in a store's newest segment, by RecoveryMode: what
// Store::open keeps, sets aside or refuses. pyk-fsck explains it and
// pyk-fsck --repair applies it, through this one function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/log_reader.h"
#include "core/options.h"

namespace pyk {

struct RecoveryDecision {
  enum class Action {
    keep,       // no damage
    cut_tail,   // a torn tail: cut at keep_end
    set_aside,  // damage followed by valid records: keep [0, keep_end), the rest to quarantine
    refuse,     // CorruptionError
  };
  Action action = Action::keep;
  std::uint64_t keep_end = 0;  // the data kept ends here (the last whole unit before the damage)
  std::string explanation;     // one sentence, for logs and pyk-fsck
};

const char* to_string(RecoveryMode mode);
// The mode named `name` (as to_string() spells it); InvalidArgument otherwise.
RecoveryMode parse_recovery_mode(std::string_view name);

// `first` is the first problem LogReader reported in the newest segment
// (null if none), `committed_end` where the units before it end.
RecoveryDecision decide_recovery(RecoveryMode mode, const LogProblem* first,
                                 std::uint64_t committed_end);

}  // namespace pyk
