// The mutation operators on small C files parsed by the real libclang: each
// operator fires where it should and nowhere else (declarations, unary minus,
// #define bodies, compiled-out branches, printk arguments, unreachable
// functions), and every mutant it makes is still valid C.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "mutants/generator.h"

namespace loopcheck::mutants {
namespace {

const std::vector<std::string> kArgs = {"-std=gnu11", "-nostdinc", "-w"};

constexpr const char* kPrelude =
    "#define EINVAL 22\n#define EBUSY 16\n#define ENXIO 6\n"
    "#define LO_FLAGS_READ_ONLY 1\n#define LO_FLAGS_AUTOCLEAR 4\n"
    "#define LT(a, b) ((a) < (b))\n"
    "int pr_info(const char *fmt, ...);\n";

std::vector<Mutant> mutants_of(const std::string& body, ParsedSource* parsed_out = nullptr) {
  const std::string source = std::string(kPrelude) + body;
  ParsedSource parsed;
  std::string why;
  EXPECT_TRUE(parse_source(source, "t.c", kArgs, &parsed, &why)) << why;
  EXPECT_EQ(parsed.diagnostics_errors, 0u) << body;
  if (parsed_out) *parsed_out = parsed;
  return generate_mutants(parsed, source);
}

std::vector<std::string> changes(const std::vector<Mutant>& ms, Operator op) {
  std::vector<std::string> out;
  for (const Mutant& m : ms)
    if (m.op == op) out.push_back(m.original + " -> " + m.replacement);
  return out;
}

TEST(Generator, RelationalOperatorsOnlyInCode) {
  auto ms = mutants_of("int f(int a, int b) { if (a < b) return LT(b, a); return a != b; }\n");
  EXPECT_EQ(changes(ms, Operator::Relational), (std::vector<std::string>{"< -> <=", "!= -> =="}))
      << "the `<` inside the #define body must not be mutated";
}

TEST(Generator, ArithmeticSkipsPointersAndUnaryMinus) {
  auto ms = mutants_of("long f(int *p, long n) { return -n + p[0] * 2 - (n << 9); }\n");
  EXPECT_EQ(changes(ms, Operator::Arithmetic),
            (std::vector<std::string>{"+ -> -", "* -> /", "- -> +", "<< -> >>"}));
}

TEST(Generator, ErrnoConstantsAfterAMinusOnly) {
  auto ms = mutants_of(
      "int f(int a) { if (a) return -EINVAL; if (a == EBUSY) return 1; "
      "return -ENXIO; }\n");
  EXPECT_EQ(changes(ms, Operator::ErrnoConstant),
            (std::vector<std::string>{"EINVAL -> EBUSY", "ENXIO -> EINVAL"}));
}

TEST(Generator, NegatedConditionWrapsTheWholeCondition) {
  const std::string body = "int f(int a, int b) { if (a && b) return 1; return 0; }\n";
  auto ms = mutants_of(body);
  auto it = std::find_if(ms.begin(), ms.end(),
                         [](const Mutant& m) { return m.op == Operator::NegatedCondition; });
  ASSERT_NE(it, ms.end());
  std::string mutated, why;
  ASSERT_TRUE(apply_mutant(std::string(kPrelude) + body, *it, &mutated, &why)) << why;
  EXPECT_NE(mutated.find("if (!(a && b)) return 1;"), std::string::npos) << mutated;
}

TEST(Generator, DeletedGuardsAreReturnsOfErrnosAndGotos) {
  auto ms = mutants_of(
      "int f(int a) {\n  int e = -EBUSY;\n  if (a > 3)\n    return -EINVAL;\n"
      "  if (a == 2) goto out;\n  if (a == 1) { e = 2; return -ENXIO; }\n"
      "  if (a == 5) return 7;\n  if (a == 6) return -EINVAL; else a = 1;\n"
      "  return 0;\nout:\n  return e;\n}\n");
  std::vector<std::string> guards;
  for (const Mutant& m : ms)
    if (m.op == Operator::DeletedGuard) guards.push_back(m.original);
  EXPECT_EQ(guards,
            (std::vector<std::string>{"if (a > 3)\n    return -EINVAL;", "if (a == 2) goto out;",
                                      "if (a == 1) { e = 2; return -ENXIO; }"}))
      << "`return 7` is no errno guard, and an if with an else is no guard";
  auto multi = std::find_if(ms.begin(), ms.end(), [](const Mutant& m) {
    return m.op == Operator::DeletedGuard && m.original.find('\n') != std::string::npos;
  });
  ASSERT_NE(multi, ms.end());
  EXPECT_EQ(std::count(multi->edits[0].text.begin(), multi->edits[0].text.end(), '\n'), 1)
      << "a deleted guard keeps its newlines, so later line numbers stay";
}

TEST(Generator, OffByOneOnArithmeticLiteralsNotOnZeroChecks) {
  auto ms = mutants_of(
      "long f(long n) { if (n < 0) return 0; if (n > 4) n = 2; "
      "return (n << 9) + 0x1fUL; }\n");
  EXPECT_EQ(changes(ms, Operator::OffByOne),
            (std::vector<std::string>{"4 -> 5", "4 -> 3", "9 -> 10", "9 -> 8", "0x1fUL -> 0x20UL",
                                      "0x1fUL -> 0x1eUL"}));
}

TEST(Generator, SwappedFlagsTakeASibling) {
  auto ms = mutants_of("int f(int flags) { return flags & LO_FLAGS_READ_ONLY; }\n");
  EXPECT_EQ(changes(ms, Operator::SwappedFlag),
            (std::vector<std::string>{"LO_FLAGS_READ_ONLY -> LO_FLAGS_AUTOCLEAR"}));
}

TEST(Generator, NothingInPrintkCompiledOutOrUnreachableCode) {
  ParsedSource parsed;
  auto ms = mutants_of(
      "int f(int a) {\n  pr_info(\"%d\", a + 1 < 3);\n#if 0\n  if (a < 2) return -EINVAL;\n"
      "#endif\n  return a;\n}\n"
      "int loop_init(void) { if (f(1) < 2) return -EINVAL; return 0; }\n"
      "int lo_compat_ioctl(int a) { return a + 1; }\n",
      &parsed);
  EXPECT_TRUE(ms.empty()) << ms.size() << " mutants, the first " << describe(ms.front());
  ASSERT_EQ(parsed.functions.size(), 3u);
  EXPECT_EQ(parsed.functions[1].reach, Unreachable::ModuleInitExit);
  EXPECT_EQ(parsed.functions[2].reach, Unreachable::Compat);
}

TEST(Generator, EveryMutantIsValidC) {
  const std::string body =
      "struct lo { int flags; long size; };\n"
      "long g(struct lo *lo, long off) {\n  if (off < 0 || off > lo->size)\n    return -EINVAL;\n"
      "  if (lo->flags & LO_FLAGS_READ_ONLY) { lo->size -= 1; goto out; }\n"
      "  return (lo->size - off) >> 9;\nout:\n  return -EBUSY;\n}\n";
  const std::string source = std::string(kPrelude) + body;
  auto ms = mutants_of(body);
  EXPECT_GE(ms.size(), 15u);
  for (const Mutant& m : ms) {
    std::string mutated, why;
    ASSERT_TRUE(apply_mutant(source, m, &mutated, &why)) << why;
    EXPECT_NE(mutated, source) << describe(m);
    ParsedSource parsed;
    ASSERT_TRUE(parse_source(mutated, "m.c", kArgs, &parsed, &why)) << why;
    EXPECT_EQ(parsed.diagnostics_errors, 0u) << describe(m) << "\n" << mutated;
    EXPECT_EQ(m.function, "g");
  }
}

TEST(Generator, SelectionIsASeededDeterministicSample) {
  std::string body = "int f(int a, int b) {\n";
  for (int i = 0; i < 30; ++i)
    body += "  if (a < b + " + std::to_string(i + 2) + ") return -EINVAL;\n";
  body += "  return 0;\n}\n";
  auto all = mutants_of(body);
  ASSERT_GT(all.size(), 100u);
  auto one = select_mutants(all, 40, 7), again = select_mutants(all, 40, 7);
  auto other = select_mutants(all, 40, 8);
  ASSERT_LE(one.size(), 40u);
  EXPECT_GE(one.size(), 35u);
  std::vector<std::string> a, b, c;
  for (const Mutant& m : one) a.push_back(describe(m));
  for (const Mutant& m : again) b.push_back(describe(m));
  for (const Mutant& m : other) c.push_back(describe(m));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  for (size_t i = 0; i < one.size(); ++i) EXPECT_EQ(one[i].id, i + 1);
  EXPECT_TRUE(std::is_sorted(one.begin(), one.end(), [](const Mutant& x, const Mutant& y) {
    return x.edits[0].offset < y.edits[0].offset;
  }));
  std::set<Operator> ops;
  for (const Mutant& m : one) ops.insert(m.op);
  EXPECT_GE(ops.size(), 4u) << "every operator keeps its share of the sample";
}

}  // namespace
}  // namespace loopcheck::mutants
