#pragma once
// The shell glob of TrainingJobPolicy spec.nameGlob (README, "Runtime limits"): `*` any run
// of characters, `?` one character, `[abc]`, `[a-z]` and `[!a-z]` one character of (or not of)
// a set (`[^a-z]` too, as glibc reads it; a literal `]` in a set is written `\]`, and `[]`,
// `[z-a]` and `[:alpha:]` classes are errors); every other character stands for itself and
// `\` quotes the next one. Matching is whole-name and case-sensitive, like the shell's and
// fnmatch(3) without flags. Written here rather than with fnmatch so that the matching cost
// is bounded: no backtracking blow-up on hostile globs such as "*a*a*a*a*b".
#include <string>
#include <string_view>

namespace mactl {

inline constexpr std::size_t kMaxNameGlobBytes = 256;

// Empty when `glob` is a valid glob; otherwise why not (an unclosed '[', a trailing '\',
// an empty set, longer than kMaxNameGlobBytes, a control character).
std::string NameGlobProblem(std::string_view glob);

// Whether `name` matches the valid glob `glob` as a whole. An empty glob matches every name.
// Time is O(|glob| × |name|).
bool MatchesNameGlob(std::string_view glob, std::string_view name);

}  // namespace mactl
