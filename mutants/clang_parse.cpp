// The libclang half of generator.h: parse, tokenize, annotate, find functions.
#include <clang-c/Index.h>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "mutants/generator.h"

namespace loopcheck::mutants {
namespace {

std::string take(CXString s) {
  const char* c = clang_getCString(s);
  std::string out = c ? c : "";
  clang_disposeString(s);
  return out;
}

uint32_t offset_of(CXSourceLocation loc) {
  unsigned offset = 0;
  clang_getExpansionLocation(loc, nullptr, nullptr, nullptr, &offset);
  return offset;
}

TokenKind kind_of(CXTokenKind k) {
  switch (k) {
    case CXToken_Punctuation:
      return TokenKind::Punctuation;
    case CXToken_Keyword:
      return TokenKind::Keyword;
    case CXToken_Identifier:
      return TokenKind::Identifier;
    case CXToken_Literal:
      return TokenKind::Literal;
    default:
      return TokenKind::Comment;
  }
}

TokenRole role_of(CXCursor c) {
  switch (clang_getCursorKind(c)) {
    case CXCursor_BinaryOperator:
    case CXCursor_CompoundAssignOperator:
      return TokenRole::BinaryOperator;
    case CXCursor_UnaryOperator:
      return TokenRole::UnaryOperator;
    case CXCursor_IfStmt:
      return TokenRole::IfStatement;
    case CXCursor_IntegerLiteral:
      return TokenRole::IntegerLiteral;
    default:
      return TokenRole::Other;
  }
}

// Top-level function definitions written in the main file (macro-made ones
// included: their extent is the macro invocation).
std::vector<FunctionSpan> functions_of(CXTranslationUnit tu) {
  std::vector<FunctionSpan> spans;
  clang_visitChildren(
      clang_getTranslationUnitCursor(tu),
      [](CXCursor c, CXCursor, CXClientData data) {
        if (clang_getCursorKind(c) != CXCursor_FunctionDecl || !clang_isCursorDefinition(c) ||
            !clang_Location_isFromMainFile(clang_getCursorLocation(c)))
          return CXChildVisit_Continue;
        CXSourceRange r = clang_getCursorExtent(c);
        FunctionSpan span;
        span.name = take(clang_getCursorSpelling(c));
        span.begin = offset_of(clang_getRangeStart(r));
        span.end = offset_of(clang_getRangeEnd(r));
        unsigned line = 0;
        clang_getExpansionLocation(clang_getRangeStart(r), nullptr, &line, nullptr, nullptr);
        span.line = line;
        span.reach = reachability(span.name);
        static_cast<std::vector<FunctionSpan>*>(data)->push_back(span);
        return CXChildVisit_Continue;
      },
      &spans);
  std::sort(spans.begin(), spans.end(),
            [](const FunctionSpan& a, const FunctionSpan& b) { return a.begin < b.begin; });
  return spans;
}

// Bytes on preprocessor lines (with their continuations): a #define body is
// not code of any one function, and a mutant there would hit every user.
std::vector<bool> directive_bytes(std::string_view source) {
  std::vector<bool> in(source.size(), false);
  size_t i = 0;
  while (i < source.size()) {
    size_t end = source.find('\n', i);
    if (end == std::string_view::npos) end = source.size();
    const size_t first = source.find_first_not_of(" \t", i);
    if (first < end && source[first] == '#') {
      size_t stop = end;
      while (stop > 0 && stop < source.size() && source[stop - 1] == '\\') {
        stop = source.find('\n', stop + 1);
        if (stop == std::string_view::npos) stop = source.size();
      }
      std::fill(in.begin() + long(i), in.begin() + long(stop), true);
      end = stop;
    }
    i = end + 1;
  }
  return in;
}

}  // namespace

std::vector<std::string> kernel_clang_args(const std::string& headers_dir, std::string* why) {
  namespace fs = std::filesystem;
  // Debian: linux-headers-6.1.0-56-cloud-amd64 holds the generated files, its
  // Makefile includes linux-headers-6.1.0-56-common, which holds the sources.
  std::string common = headers_dir;
  const size_t dash = headers_dir.rfind("-cloud-amd64");
  if (dash != std::string::npos) common = headers_dir.substr(0, dash) + "-common";
  if (!fs::exists(headers_dir + "/include/generated/autoconf.h") ||
      !fs::exists(common + "/include/linux/kconfig.h")) {
    *why = fmt::format(
        "no kernel headers at {} (with {}): install them, e.g. `apt-get install "
        "linux-headers-6.1.0-56-cloud-amd64`",
        headers_dir, common);
    return {};
  }
  const std::string& h = headers_dir;
  const std::string& c = common;
  return {"-nostdinc",
          "-I" + c + "/arch/x86/include",
          "-I" + h + "/arch/x86/include/generated",
          "-I" + c + "/include",
          "-I" + h + "/include",
          "-I" + c + "/arch/x86/include/uapi",
          "-I" + h + "/arch/x86/include/generated/uapi",
          "-I" + c + "/include/uapi",
          "-I" + h + "/include/generated/uapi",
          "-include",
          c + "/include/linux/compiler-version.h",
          "-include",
          c + "/include/linux/kconfig.h",
          "-include",
          c + "/include/linux/compiler_types.h",
          "-D__KERNEL__",
          "-DMODULE",
          "-DKBUILD_BASENAME=\"loop\"",
          "-DKBUILD_MODNAME=\"loop\"",
          "-D__KBUILD_MODNAME=kmod_loop",
          "-std=gnu11",
          "-m64",
          "-w"};
}

namespace {

std::vector<Token> tokens_of(CXTranslationUnit tu, CXFile file, std::string_view source) {
  CXSourceRange whole = clang_getRange(clang_getLocationForOffset(tu, file, 0),
                                       clang_getLocationForOffset(tu, file, source.size()));
  CXToken* raw = nullptr;
  unsigned n = 0;
  clang_tokenize(tu, whole, &raw, &n);
  std::vector<CXCursor> cursors(n);
  clang_annotateTokens(tu, raw, n, cursors.data());
  std::vector<Token> tokens;
  tokens.reserve(n);
  for (unsigned i = 0; i < n; ++i) {
    Token t;
    t.kind = kind_of(clang_getTokenKind(raw[i]));
    t.role = role_of(cursors[i]);
    t.text = take(clang_getTokenSpelling(tu, raw[i]));
    unsigned line = 0, column = 0, offset = 0;
    clang_getSpellingLocation(clang_getTokenLocation(tu, raw[i]), nullptr, &line, &column, &offset);
    t.line = line;
    t.column = column;
    t.offset = offset;
    tokens.push_back(std::move(t));
  }
  clang_disposeTokens(tu, raw, n);
  return tokens;
}

// Clears mutable_ on compiled-out branches and preprocessor lines.
void mark_unmutable(CXTranslationUnit tu, CXFile file, std::string_view source,
                    std::vector<Token>& tokens) {
  const std::vector<bool> directive = directive_bytes(source);
  CXSourceRangeList* skipped = clang_getSkippedRanges(tu, file);
  for (Token& t : tokens) {
    if (t.kind == TokenKind::Comment || (t.offset < directive.size() && directive[t.offset]))
      t.mutable_ = false;
    for (unsigned i = 0; skipped && i < skipped->count; ++i) {
      const uint32_t b = offset_of(clang_getRangeStart(skipped->ranges[i]));
      const uint32_t e = offset_of(clang_getRangeEnd(skipped->ranges[i]));
      if (t.offset >= b && t.offset < e) t.mutable_ = false;
    }
  }
  if (skipped) clang_disposeSourceRangeList(skipped);
}

// printk-family arguments only reach the console: mutants there are not loop semantics.
bool is_printk(std::string_view name) {
  return name == "printk" || name.starts_with("pr_") || name.starts_with("dev_") ||
         name.starts_with("printk_") || name == "loop_debug";
}

void mark_printk_arguments(std::vector<Token>& tokens) {
  for (size_t i = 0; i + 1 < tokens.size(); ++i) {
    if (tokens[i].kind != TokenKind::Identifier || tokens[i + 1].text != "(" ||
        !is_printk(tokens[i].text))
      continue;
    int depth = 0;
    for (size_t j = i + 1; j < tokens.size(); ++j) {
      tokens[j].mutable_ = false;
      if (tokens[j].text == "(") ++depth;
      if (tokens[j].text == ")" && --depth == 0) break;
    }
  }
}

void assign_functions(const std::vector<FunctionSpan>& functions, std::vector<Token>& tokens) {
  size_t f = 0;
  for (Token& t : tokens) {
    while (f < functions.size() && functions[f].end <= t.offset) ++f;
    if (f < functions.size() && t.offset >= functions[f].begin) t.function = int(f);
  }
}

}  // namespace

bool parse_source(std::string_view source, std::string_view file_name,
                  const std::vector<std::string>& args, ParsedSource* out, std::string* why) {
  std::unique_ptr<void, void (*)(CXIndex)> index(clang_createIndex(0, 0), clang_disposeIndex);
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  const std::string name(file_name);
  CXUnsavedFile unsaved{name.c_str(), source.data(), static_cast<unsigned long>(source.size())};
  CXTranslationUnit tu = nullptr;
  const CXErrorCode rc =
      clang_parseTranslationUnit2(index.get(), name.c_str(), argv.data(), int(argv.size()),
                                  &unsaved, 1, CXTranslationUnit_DetailedPreprocessingRecord, &tu);
  if (rc != CXError_Success || !tu) {
    *why = fmt::format("libclang could not parse {} (error {})", file_name, int(rc));
    return false;
  }
  ParsedSource parsed;
  for (unsigned i = 0, n = clang_getNumDiagnostics(tu); i < n; ++i) {
    CXDiagnostic d = clang_getDiagnostic(tu, i);
    if (clang_getDiagnosticSeverity(d) >= CXDiagnostic_Error) ++parsed.diagnostics_errors;
    clang_disposeDiagnostic(d);
  }
  CXFile file = clang_getFile(tu, name.c_str());
  parsed.tokens = tokens_of(tu, file, source);
  parsed.functions = functions_of(tu);
  mark_unmutable(tu, file, source, parsed.tokens);
  clang_disposeTranslationUnit(tu);
  mark_printk_arguments(parsed.tokens);
  assign_functions(parsed.functions, parsed.tokens);
  *out = std::move(parsed);
  return true;
}

}  // namespace loopcheck::mutants
