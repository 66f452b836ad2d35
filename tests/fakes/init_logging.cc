// Linked into every test binary: builds spdlog's registry on the main thread before any test
// starts a thread. The registry is a function-local static inside the (uninstrumented) spdlog
// library, so when two test threads logged first at the same moment ThreadSanitizer could not
// see its initialisation guard and reported a race. The daemon configures logging in main()
// before it starts threads, so only tests need this.

#include <spdlog/spdlog.h>

namespace {

[[maybe_unused]] const bool kLoggerBuilt = spdlog::default_logger_raw() != nullptr;

}  // namespace
