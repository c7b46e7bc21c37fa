// Text made safe for XML and HTML: the one escaper the JUnit file, the SVG plots
// and the HTML pages share.
#pragma once

#include <string>
#include <string_view>

namespace loopcheck::campaign {

// `&`, `<`, `>`, `"` and `'` as entities; control characters XML forbids become
// U+FFFD. The same text is safe in HTML text and quoted HTML attributes.
std::string xml_escape(std::string_view text);

}  // namespace loopcheck::campaign
