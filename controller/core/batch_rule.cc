#include "controller/core/batch_rule.h"

#include <algorithm>

namespace mactl {

std::size_t CountedListPages(std::int64_t jobs, std::size_t per_page) {
  const std::size_t page = std::max<std::size_t>(per_page, 1);
  const auto total = static_cast<std::size_t>(std::max<std::int64_t>(jobs, 1));
  return total / page + (total % page != 0 ? 1 : 0);  // no overflow near the largest count
}

std::size_t ShortPageSearchPages(std::int64_t jobs, std::size_t per_page) {
  const std::size_t page = std::max<std::size_t>(per_page, 1);
  return static_cast<std::size_t>(std::max<std::int64_t>(jobs, 0)) / page + 1;
}

}  // namespace mactl
