#pragma once

// When a project's observations are batched (docs/architecture.md, "Batched observation").
// A list refresh costs its pages; without it each object due costs one detail call. So a
// refresh is taken only when its pages cost fewer calls than the detail calls of the objects
// due together: pages < due. A tie goes to the detail calls, which are exact. "Due together"
// is counted by DueSchedule (controller/core/due_schedule.h), not from how many objects the
// project manages: one version KILLING in a project of 100 000 jobs costs one detail call per
// poll, not a 100-page list.

#include <cstddef>
#include <cstdint>

namespace mactl {

// Pages of a list that stops at the job count its first page announces (v1): ceil(jobs/page),
// at least 1 (an unknown or empty project still costs the first page).
std::size_t CountedListPages(std::int64_t jobs, std::size_t per_page);
// Pages of a search that stops at the first short page (v2): floor(jobs/page) + 1, since a
// full last page needs one more, empty, page to be known as the last.
std::size_t ShortPageSearchPages(std::int64_t jobs, std::size_t per_page);

// Whether `due` objects of a project are cheaper to observe with one refresh of `pages`.
constexpr bool ShouldBatch(std::size_t due, std::size_t pages) { return pages < due; }

}  // namespace mactl
