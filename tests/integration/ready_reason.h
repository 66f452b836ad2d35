#pragma once

// What the daemon's status says of one object's Ready condition, as the end-to-end tests of
// the runtime limit and of kind TrainingJob read it (README, "Status and conditions").

#include <string>

#include "integration/harness.h"

namespace mactl::integration {

// The reason of the object's Ready condition, or "" while the object or the condition is
// not there yet.
inline std::string ReadyReason(const Controller& controller, const std::string& name) {
  const json object = controller.Object(name);
  if (!object.is_object()) return "";
  for (const json& condition : object.value("conditions", json::array())) {
    if (condition.value("type", "") == "Ready") return condition.value("reason", "");
  }
  return "";
}

}  // namespace mactl::integration
