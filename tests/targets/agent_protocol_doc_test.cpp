// docs/agent-protocol.md against the code: every table marked
// `<!-- table: NAME -->` must list exactly the enum's values and names, the
// constants must be the protocol's, and every `<!-- example: NAME -->` must be
// the bytes the encoder writes. A port writes its agent from that document, so a
// change to the wire format that leaves it behind fails here.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "targets/vm/protocol.h"
#include "trace/names.h"
#include "trace/parse.h"

namespace loopcheck::vm {
namespace {

using Rows = std::vector<std::pair<std::string, std::string>>;  // (first, second column)

std::string doc_text() {
  std::ifstream in(std::string(LOOPCHECK_SOURCE_DIR) + "/docs/agent-protocol.md");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '`')) s.erase(s.begin());
  while (!s.empty() && (s.back() == ' ' || s.back() == '`')) s.pop_back();
  return s;
}

// The body rows of the table after `<!-- table: NAME -->`: its first two cells.
Rows table(const std::string& doc, const std::string& name) {
  Rows rows;
  const size_t at = doc.find("<!-- table: " + name + " -->");
  if (at == std::string::npos) return rows;
  std::istringstream in(doc.substr(at));
  std::string line;
  std::getline(in, line);  // the marker
  int seen = 0;
  while (std::getline(in, line) && line.starts_with("|")) {
    if (++seen <= 2) continue;  // header and separator
    std::vector<std::string> cells;
    std::stringstream cell_stream(line.substr(1));
    std::string cell;
    while (std::getline(cell_stream, cell, '|')) cells.push_back(trim(cell));
    rows.emplace_back(cells.size() > 0 ? cells[0] : "", cells.size() > 1 ? cells[1] : "");
  }
  return rows;
}

// The hex bytes of the code block after `<!-- example: NAME -->`.
std::string example(const std::string& doc, const std::string& name) {
  const size_t at = doc.find("<!-- example: " + name + " -->");
  if (at == std::string::npos) return "(no example " + name + ")";
  const size_t open = doc.find("```\n", at) + 4;
  return trim(doc.substr(open, doc.find("\n```", open) - open));
}

std::string hex(const std::vector<uint8_t>& bytes) {
  std::string s;
  for (uint8_t b : bytes) s += fmt::format("{}{:02x}", s.empty() ? "" : " ", b);
  return s;
}

Rows numbered(const std::vector<std::string>& names) {
  Rows rows;
  for (size_t i = 0; i < names.size(); ++i) rows.emplace_back(std::to_string(i), names[i]);
  return rows;
}

template <typename E, typename NameOf>
Rows from_code(int count, NameOf name_of) {
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i) names.emplace_back(name_of(static_cast<E>(i)));
  return numbered(names);
}

TEST(AgentProtocolDoc, FrameTypesAreTheCodes) {
  Rows code;
  for (int v = 0; v < 256; ++v) {
    const std::string_view n = frame_type_name(static_cast<FrameType>(v));
    if (n != "unknown") code.emplace_back(std::to_string(v), std::string(n));
  }
  EXPECT_EQ(table(doc_text(), "FrameType"), code);
}

TEST(AgentProtocolDoc, ConstantsAreTheProtocols) {
  const Rows code = {{"kProtocolVersion", std::to_string(kProtocolVersion)},
                     {"kFrameHeaderSize", std::to_string(kFrameHeaderSize)},
                     {"kMaxFramePayload", std::to_string(kMaxFramePayload)},
                     {"kMaxMessageSize", std::to_string(kMaxMessageSize)}};
  EXPECT_EQ(table(doc_text(), "constants"), code);
}

// A new enumerator fails to compile here first: then add it to the document.
static_assert(static_cast<int>(OpKind::Uevents) == 10);
static_assert(static_cast<int>(Node::Dir) == 3);
static_assert(static_cast<int>(Access::Rw) == 2);
static_assert(static_cast<int>(ArgKind::Fault) == 5);
static_assert(static_cast<int>(Outcome::Kind::Skipped) == 6);
static_assert(static_cast<int>(ValueRole::DevIndex) == 2);
static_assert(static_cast<int>(ObjectDecl::Kind::Dir) == 1);

TEST(AgentProtocolDoc, EnumTablesAreTheEnums) {
  const std::string doc = doc_text();
  EXPECT_EQ(table(doc, "OpKind"),
            numbered({"open", "close", "ioctl", "pread", "pwrite", "fsync", "truncate", "sysfs",
                      "fallocate", "allocated", "uevents"}));
  EXPECT_EQ(table(doc, "Node"), numbered({"loop-control", "loop", "file", "dir"}));
  EXPECT_EQ(table(doc, "Access"), from_code<Access>(3, access_name));
  EXPECT_EQ(table(doc, "ArgKind"),
            numbered({"none", "number", "struct", "null", "range", "fault"}));
  EXPECT_EQ(table(doc, "Field"), from_code<Field>(kFieldCount, field_name));
  EXPECT_EQ(table(doc, "SysAttr"), from_code<SysAttr>(kSysAttrCount, sysattr_path));
  EXPECT_EQ(table(doc, "OutcomeKind"),
            numbered({"value", "error", "status", "data", "text", "uevents", "skipped"}));
  EXPECT_EQ(table(doc, "ValueRole"), numbered({"plain", "fd", "dev-index"}));
  EXPECT_EQ(table(doc, "ObjectKind"), numbered({"file", "dir"}));
}

TEST(AgentProtocolDoc, RequestTableIsTheRequests) {
  Rows code = from_code<Req>(kReqCount, [](Req r) {
    return r == Req::Unknown ? std::string("Unknown") : std::string(req_name(r));
  });
  EXPECT_EQ(table(doc_text(), "Req"), code);
  // The request numbers in the third column.
  const std::string doc = doc_text();
  for (int i = 0; i + 1 < kReqCount; ++i) {
    const Req r = static_cast<Req>(i);
    const std::string row = fmt::format("| {} | `{}` | {:#x} |", i, req_name(r), req_number(r));
    EXPECT_NE(doc.find(row), std::string::npos) << "no row " << row;
  }
}

TEST(AgentProtocolDoc, ExamplesAreTheEncodersBytes) {
  const std::string doc = doc_text();
  EXPECT_EQ(example(doc, "reset"), hex(encode_empty(FrameType::Reset)));
  EXPECT_EQ(example(doc, "started-ok"), hex(encode_reply(FrameType::Started, Reply{true, ""})));
  ParseResult parsed = parse_trace("@trace 1\nctl = open loop-control rw\n", "example");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(example(doc, "exec-open-loop-control"), hex(encode_op(parsed.trace.stmts[0].op)));
  EXPECT_EQ(example(doc, "result-fd-3"), hex(encode_outcome(Outcome::ok(3, ValueRole::Fd))));
}

}  // namespace
}  // namespace loopcheck::vm
