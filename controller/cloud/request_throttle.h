#pragma once

// Gate in front of every outgoing API request (the global token bucket in production).

namespace mactl {

class RequestThrottle {
 public:
  virtual ~RequestThrottle() = default;
  // Blocks until one request may be sent. Returns false when the wait was abandoned
  // because the process is shutting down; the caller then sends nothing.
  virtual bool Acquire() = 0;
};

}  // namespace mactl
