#pragma once

// Asked immediately before every stop request. With --leader-elect it is the leader's
// CheckBeforeAct (controller/runtime/leadership.h): a refusal means this replica may not act
// now, and the reconciler sends nothing and looks again later. Without it, every stop may go.

#include "api/result.h"

namespace mactl {

class StopGate {
 public:
  virtual ~StopGate() = default;
  // OK: the stop may be sent now. An error: do not send it.
  virtual Status CheckBeforeStop() = 0;
};

}  // namespace mactl
