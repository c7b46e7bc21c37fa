#include "campaign/xml_escape.h"

#include <cstdint>

namespace loopcheck::campaign {

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        if (uint8_t(c) < 0x20 && c != '\n' && c != '\t' && c != '\r')
          out += "\uFFFD";
        else
          out += c;
    }
  }
  return out;
}

}  // namespace loopcheck::campaign
