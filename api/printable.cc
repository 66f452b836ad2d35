#include "api/printable.h"

namespace mactl {

std::string PrintableExcerpt(std::string_view text, std::size_t max_bytes, NonAscii non_ascii) {
  std::string out;
  for (const char c : text.substr(0, max_bytes)) {
    const auto byte = static_cast<unsigned char>(c);
    const bool replace =
        byte < 0x20 || byte == 0x7f || (byte > 0x7f && non_ascii == NonAscii::kReplace);
    out += replace ? '?' : c;
  }
  if (text.size() > max_bytes) out += "...";
  return out;
}

}  // namespace mactl
