#pragma once

// What the fake clients share: a count of calls per operation and the errors a test scripts
// for the next calls of an operation.

#include <deque>
#include <map>
#include <optional>
#include <string>

#include "api/result.h"

namespace mactl::testing {

// Not locked itself: the fake that holds it guards it with its own lock.
class ScriptedOperations {
 public:
  // The next calls of `operation` fail with these errors, in order.
  void FailNext(const std::string& operation, Error error) {
    errors_[operation].push_back(std::move(error));
  }

  // Counts one call of `operation` and takes the next error scripted for it, if any.
  std::optional<Error> Call(const std::string& operation) {
    ++calls_[operation];
    auto& queue = errors_[operation];
    if (queue.empty()) return std::nullopt;
    Error e = std::move(queue.front());
    queue.pop_front();
    return e;
  }

  int Calls(const std::string& operation) const {
    const auto it = calls_.find(operation);
    return it == calls_.end() ? 0 : it->second;
  }

 private:
  std::map<std::string, int> calls_;
  std::map<std::string, std::deque<Error>> errors_;
};

}  // namespace mactl::testing
