// The trace parser on arbitrary bytes: it must never crash, leak or hang
// (libFuzzer's -timeout and ASan's leak checker see to the last two), and what it
// accepts must print canonically: print(parse(print(t))) == print(t).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "trace/parse.h"
#include "trace/print.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  loopcheck::ParseResult parsed = loopcheck::parse_trace(text, "fuzz");
  if (!parsed.ok()) {
    if (parsed.errors.size() > loopcheck::kMaxParseErrors) std::abort();
    for (const auto& e : parsed.errors) (void)e.format();
    return 0;
  }
  const std::string printed = loopcheck::print_trace(parsed.trace);
  loopcheck::ParseResult again = loopcheck::parse_trace(printed, "printed");
  if (!again.ok()) std::abort();  // the printer wrote something the parser rejects
  if (loopcheck::print_trace(again.trace) != printed) std::abort();  // not a fixed point
  return 0;
}
