// Out-of-line members of Outcome (trace/trace.h).
#include <algorithm>
#include <cstring>

#include "trace/trace.h"

namespace loopcheck {

// A sysfs value longer than the fixed buffer is cut, not rejected: the buffer
// keeps Outcome trivially copyable, and the values the language reads are short.
void Outcome::set_text(std::string_view s) {
  size_t n = std::min<size_t>(s.size(), kMaxTextSize - 1);
  if (n) std::memcpy(text.data(), s.data(), n);
  text[n] = '\0';
  text_len = static_cast<uint8_t>(n);
}

}  // namespace loopcheck
