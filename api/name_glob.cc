#include "api/name_glob.h"

#include <bitset>
#include <cstddef>
#include <optional>
#include <vector>

#include "api/printable.h"

namespace mactl {
namespace {

// One glob element: each matches exactly one character, except kStar (any run).
struct GlobToken {
  enum class Kind { kLiteral, kAny, kStar, kSet };
  Kind kind = Kind::kLiteral;
  char literal = 0;
  std::bitset<256> set;  // kSet: the characters it matches, negation already applied

  bool Matches(char c) const {
    switch (kind) {
      case Kind::kLiteral:
        return c == literal;
      case Kind::kAny:
        return true;
      case Kind::kSet:
        return set.test(static_cast<unsigned char>(c));
      case Kind::kStar:
        break;
    }
    return false;
  }
};

struct ParsedGlob {
  std::vector<GlobToken> tokens;
  std::string problem;  // empty when the glob is valid
};

std::size_t Byte(char c) { return static_cast<unsigned char>(c); }

std::string At(std::size_t offset) { return " at byte " + std::to_string(offset + 1); }

// Parses the set that starts at glob[open] == '['. On success returns the offset just past
// its closing ']'; otherwise sets `problem`.
std::optional<std::size_t> ParseSet(std::string_view glob, std::size_t open, GlobToken& token,
                                    std::string& problem) {
  std::size_t i = open + 1;
  bool negate = false;
  // "[!" as in the shell; "[^" as glibc's fnmatch also reads it.
  if (i < glob.size() && (glob[i] == '!' || glob[i] == '^')) {
    negate = true;
    ++i;
  }
  token.kind = GlobToken::Kind::kSet;
  bool empty = true;
  while (i < glob.size() && glob[i] != ']') {
    if (glob[i] == '[' && i + 1 < glob.size() && glob[i + 1] == ':') {
      problem = "character classes like [:alpha:] are not supported" + At(i) +
                " (list the characters, e.g. [a-z])";
      return std::nullopt;
    }
    if (glob[i] == '\\' && ++i == glob.size()) break;
    const char low = glob[i++];
    char high = low;
    // A '-' before the closing ']' stands for itself.
    if (i + 1 < glob.size() && glob[i] == '-' && glob[i + 1] != ']') {
      i += 1;
      if (glob[i] == '\\' && ++i == glob.size()) break;
      high = glob[i++];
      if (Byte(high) < Byte(low)) {
        problem = "range " + PrintableExcerpt(std::string{low, '-', high}, 16) + " is reversed" +
                  At(i - 1) + " (write the lower end first)";
        return std::nullopt;
      }
    }
    for (std::size_t c = Byte(low); c <= Byte(high); ++c) token.set.set(c);
    empty = false;
  }
  if (i >= glob.size()) {
    problem = "unclosed '['" + At(open) + " (write \\[ for a literal '[')";
    return std::nullopt;
  }
  if (empty) {
    problem = "empty set '[]'" + At(open) + " (write \\] for a literal ']')";
    return std::nullopt;
  }
  if (negate) token.set.flip();
  return i + 1;
}

std::string CharacterProblem(std::string_view glob) {
  if (glob.size() > kMaxNameGlobBytes) {
    return "longer than " + std::to_string(kMaxNameGlobBytes) + " bytes (" +
           std::to_string(glob.size()) + ")";
  }
  for (std::size_t i = 0; i < glob.size(); ++i) {
    const auto c = static_cast<unsigned char>(glob[i]);
    if (c < 0x20 || c == 0x7f) return "control character" + At(i);
  }
  return "";
}

ParsedGlob Parse(std::string_view glob) {
  ParsedGlob parsed;
  parsed.problem = CharacterProblem(glob);
  for (std::size_t i = 0; parsed.problem.empty() && i < glob.size();) {
    GlobToken token;
    const char c = glob[i];
    if (c == '*') {
      token.kind = GlobToken::Kind::kStar;
      ++i;
      // "**" is "*": one star token keeps the match linear in the name.
      if (!parsed.tokens.empty() && parsed.tokens.back().kind == GlobToken::Kind::kStar) continue;
    } else if (c == '?') {
      token.kind = GlobToken::Kind::kAny;
      ++i;
    } else if (c == '[') {
      const std::optional<std::size_t> end = ParseSet(glob, i, token, parsed.problem);
      if (!end) break;
      i = *end;
    } else if (c == '\\') {
      if (i + 1 == glob.size()) {
        parsed.problem = "ends with a lone '\\'" + At(i) + " (write \\\\ for a literal '\\')";
        break;
      }
      token.literal = glob[i + 1];
      i += 2;
    } else {
      token.literal = c;
      ++i;
    }
    parsed.tokens.push_back(token);
  }
  if (!parsed.problem.empty()) parsed.tokens.clear();
  return parsed;
}

// The classic two-cursor wildcard match: on a mismatch, only the last '*' seen needs to take
// one more character, since every token after it matches exactly one. Each retry moves the
// name cursor on, so the work is O(|tokens| × |name|) with no recursion.
bool MatchTokens(const std::vector<GlobToken>& tokens, std::string_view name) {
  std::size_t t = 0;
  std::size_t n = 0;
  std::optional<std::size_t> star;  // token index of the last '*'
  std::size_t star_name = 0;        // name offset that '*' matched up to
  while (n < name.size()) {
    if (t < tokens.size() && tokens[t].kind == GlobToken::Kind::kStar) {
      star = t++;
      star_name = n;
    } else if (t < tokens.size() && tokens[t].Matches(name[n])) {
      ++t;
      ++n;
    } else if (star) {
      t = *star + 1;
      n = ++star_name;
    } else {
      return false;
    }
  }
  while (t < tokens.size() && tokens[t].kind == GlobToken::Kind::kStar) ++t;
  return t == tokens.size();
}

}  // namespace

std::string NameGlobProblem(std::string_view glob) { return Parse(glob).problem; }

bool MatchesNameGlob(std::string_view glob, std::string_view name) {
  if (glob.empty()) return true;
  const ParsedGlob parsed = Parse(glob);
  return parsed.problem.empty() && MatchTokens(parsed.tokens, name);
}

}  // namespace mactl
