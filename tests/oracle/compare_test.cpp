// compare_outcomes and to_model_names: literal comparison of plain results,
// comparison up to a consistent renaming of fds, device indices and file
// identities, data by bytes or digest, and the model's envelopes (an errno
// alternative, a byte-count range).
#include "oracle/compare.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "trace/data.h"

namespace loopcheck {
namespace {

Comparison cmp(const Outcome& model, const Outcome& target, Renaming& names,
               std::span<const uint8_t> bytes = {}) {
  return compare_outcomes(model, target, bytes, names);
}

bool has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

Outcome text_outcome(std::string_view text) {
  Outcome o;
  o.kind = Outcome::Kind::Text;
  o.set_text(text);
  return o;
}

// A read of `count_bytes` bytes of pwrite pattern `seed`, as the model predicts it.
Outcome pattern_read(int64_t count_bytes, uint32_t seed) {
  Outcome o;
  o.kind = Outcome::Kind::Data;
  o.value = count_bytes;
  o.data.count = 1;
  o.data.seg[0].kind = DataSegment::Kind::Pattern;
  o.data.seg[0].seed = seed;
  o.data.seg[0].length = 0;  // the rest
  return o;
}

std::vector<uint8_t> bytes_of(const Outcome& model) {
  std::vector<uint8_t> bytes(static_cast<size_t>(model.value));
  materialize(model.data, bytes);
  return bytes;
}

// What a real target reports for a read: the count and the digest of its bytes.
Outcome target_read(std::span<const uint8_t> bytes) {
  Outcome o;
  o.kind = Outcome::Kind::Data;
  o.value = static_cast<int64_t>(bytes.size());
  o.digest = digest_bytes(bytes);
  return o;
}

StatusInfo status(uint32_t number, uint64_t device, uint64_t inode, uint64_t rdevice) {
  StatusInfo s;
  s.number = number;
  s.device = device;
  s.inode = inode;
  s.rdevice = rdevice;
  s.offset = 4096;
  s.sizelimit = 65536;
  s.flags = kLoAutoclear;
  s.name.len = 3;
  s.name.bytes = {'i', 'm', 'g'};
  return s;
}

Outcome status_outcome(const StatusInfo& s) {
  Outcome o;
  o.kind = Outcome::Kind::Status;
  o.status = s;
  return o;
}

TEST(CompareOutcomes, EqualPlainValuesAndErrnosAreEqual) {
  Renaming names;
  Comparison c = cmp(Outcome::ok(0), Outcome::ok(0), names);
  EXPECT_TRUE(c.equal);
  EXPECT_EQ(c.match, Match::Exact);
  EXPECT_TRUE(c.why.empty());
  EXPECT_TRUE(cmp(Outcome::error(EBUSY), Outcome::error(EBUSY), names).equal);
  EXPECT_TRUE(cmp(Outcome::skipped(), Outcome::skipped(), names).equal);
}

TEST(CompareOutcomes, PlainValuesAreComparedLiterally) {
  Renaming names;
  Comparison c = cmp(Outcome::ok(512), Outcome::ok(4096), names);
  EXPECT_FALSE(c.equal);
  EXPECT_EQ(c.why, "model 512, target 4096");
  // A plain value is never renamed, however often it repeats.
  EXPECT_FALSE(cmp(Outcome::ok(512), Outcome::ok(4096), names).equal);
}

TEST(CompareOutcomes, DifferentErrnosDiverge) {
  Renaming names;
  Comparison c = cmp(Outcome::error(EBUSY), Outcome::error(ENXIO), names);
  EXPECT_FALSE(c.equal);
  EXPECT_TRUE(has(c.why, "EBUSY")) << c.why;
  EXPECT_TRUE(has(c.why, "ENXIO")) << c.why;
}

TEST(CompareOutcomes, AValueAgainstAnErrnoDiverges) {
  Renaming names;
  Comparison c = cmp(Outcome::ok(0), Outcome::error(EINVAL), names);
  EXPECT_FALSE(c.equal);
  EXPECT_TRUE(has(c.why, "EINVAL")) << c.why;
  EXPECT_FALSE(cmp(Outcome::error(EINVAL), Outcome::ok(0), names).equal);
  EXPECT_FALSE(cmp(Outcome::ok(0), Outcome::skipped(), names).equal);
}

TEST(CompareOutcomes, FdsAreComparedUpToAConsistentRenaming) {
  Renaming names;
  EXPECT_TRUE(cmp(Outcome::ok(3, ValueRole::Fd), Outcome::ok(11, ValueRole::Fd), names).equal);
  EXPECT_EQ(names.to_target(RenameKind::Fd, 3), std::optional<uint64_t>(11));
  EXPECT_TRUE(cmp(Outcome::ok(4, ValueRole::Fd), Outcome::ok(12, ValueRole::Fd), names).equal);
  EXPECT_TRUE(cmp(Outcome::ok(3, ValueRole::Fd), Outcome::ok(11, ValueRole::Fd), names).equal);
  // A second, inconsistent mapping of either side is a divergence.
  Comparison c = cmp(Outcome::ok(3, ValueRole::Fd), Outcome::ok(12, ValueRole::Fd), names);
  EXPECT_FALSE(c.equal);
  EXPECT_EQ(c.why, "fd 12 from the target does not correspond to the model's 3");
  EXPECT_FALSE(cmp(Outcome::ok(5, ValueRole::Fd), Outcome::ok(11, ValueRole::Fd), names).equal);
}

TEST(CompareOutcomes, DeviceIndicesAreRenamedApartFromFds) {
  Renaming names;
  ASSERT_TRUE(cmp(Outcome::ok(3, ValueRole::Fd), Outcome::ok(11, ValueRole::Fd), names).equal);
  // Model index 3 may be target index 40 although model fd 3 is target fd 11.
  EXPECT_TRUE(
      cmp(Outcome::ok(3, ValueRole::DevIndex), Outcome::ok(40, ValueRole::DevIndex), names).equal);
  Comparison c =
      cmp(Outcome::ok(3, ValueRole::DevIndex), Outcome::ok(41, ValueRole::DevIndex), names);
  EXPECT_FALSE(c.equal);
  EXPECT_EQ(c.why, "device index 41 from the target does not correspond to the model's 3");
}

TEST(CompareOutcomes, StatusStructsCompareFieldsLiterallyAndIdentitiesUpToRenaming) {
  Renaming names;
  const StatusInfo model = status(0, 0x801, 12, 0x700);
  EXPECT_TRUE(
      cmp(status_outcome(model), status_outcome(status(9, 0xfd01, 777, 0x709)), names).equal);
  EXPECT_EQ(names.to_target(RenameKind::DevIndex, 0), std::optional<uint64_t>(9));
  EXPECT_EQ(names.to_target(RenameKind::Device, 0x801), std::optional<uint64_t>(0xfd01));
  EXPECT_EQ(names.to_target(RenameKind::Inode, 12), std::optional<uint64_t>(777));
  EXPECT_EQ(names.to_target(RenameKind::Rdevice, 0x700), std::optional<uint64_t>(0x709));
  // The same device reported again agrees.
  EXPECT_TRUE(
      cmp(status_outcome(model), status_outcome(status(9, 0xfd01, 777, 0x709)), names).equal);

  // The backing file's inode changed on the target only.
  Comparison c = cmp(status_outcome(model), status_outcome(status(9, 0xfd01, 778, 0x709)), names);
  EXPECT_FALSE(c.equal);
  EXPECT_EQ(c.why,
            "inode: target 0x30a does not correspond to model 0xc as earlier steps fixed it");
}

TEST(CompareOutcomes, StatusPlainFieldsAndNameAreNotRenamed) {
  Renaming names;
  const StatusInfo model = status(0, 0x801, 12, 0x700);
  StatusInfo target = model;
  target.offset = 0;
  Comparison c = cmp(status_outcome(model), status_outcome(target), names);
  EXPECT_FALSE(c.equal);
  EXPECT_EQ(c.why, "offset: model 4096, target 0");
  target = model;
  target.flags = kLoAutoclear | kLoReadOnly;
  EXPECT_EQ(cmp(status_outcome(model), status_outcome(target), names).why,
            "flags: model 4, target 5");
  target = model;
  target.name.bytes[2] = 'x';
  EXPECT_EQ(cmp(status_outcome(model), status_outcome(target), names).why,
            "name: model \"img\", target \"imx\"");
}

TEST(CompareOutcomes, AStatusNumberMustAgreeWithTheIndexAnEarlierStepReturned) {
  Renaming names;
  // LOOP_CTL_ADD returned model index 2, target index 30.
  ASSERT_TRUE(
      cmp(Outcome::ok(2, ValueRole::DevIndex), Outcome::ok(30, ValueRole::DevIndex), names).equal);
  EXPECT_TRUE(
      cmp(status_outcome(status(2, 1, 1, 1)), status_outcome(status(30, 1, 1, 1)), names).equal);
  Comparison c =
      cmp(status_outcome(status(2, 1, 1, 1)), status_outcome(status(31, 1, 1, 1)), names);
  EXPECT_FALSE(c.equal);
  EXPECT_TRUE(c.why.starts_with("number: ")) << c.why;
}

TEST(CompareOutcomes, DataIsComparedByTheBytesTheTargetRead) {
  Renaming names;
  const Outcome model = pattern_read(4096, 7);
  std::vector<uint8_t> bytes = bytes_of(model);
  Comparison same = cmp(model, target_read(bytes), names, bytes);
  EXPECT_TRUE(same.equal) << same.why;
  EXPECT_EQ(same.match, Match::Exact);

  bytes[1000] ^= 0xff;
  Comparison c = cmp(model, target_read(bytes), names, bytes);
  EXPECT_FALSE(c.equal);
  EXPECT_EQ(c.why, "data differs first at byte 1000 of the read");
}

TEST(CompareOutcomes, WithoutBytesTheTargetsDigestStandsForThem) {
  Renaming names;
  const Outcome model = pattern_read(4096, 7);
  std::vector<uint8_t> bytes = bytes_of(model);
  EXPECT_TRUE(cmp(model, target_read(bytes), names).equal);
  bytes[4095] ^= 1;
  Comparison c = cmp(model, target_read(bytes), names);
  EXPECT_FALSE(c.equal);
  EXPECT_EQ(c.why, "data digest differs from the model's bytes");
}

TEST(CompareOutcomes, ADifferentByteCountDivergesWithoutAnEnvelope) {
  Renaming names;
  const Outcome model = pattern_read(4096, 7);
  std::vector<uint8_t> bytes = bytes_of(model);
  bytes.resize(2048);
  Comparison c = cmp(model, target_read(bytes), names, bytes);
  EXPECT_FALSE(c.equal);
  EXPECT_EQ(c.why, "bytes transferred: model 4096, target 2048");
}

TEST(CompareOutcomes, UnpredictableDataComparesTheCountOnly) {
  Renaming names;
  Outcome model = pattern_read(4096, 7);
  model.data_known = false;
  std::vector<uint8_t> other(4096, 0xab);
  Comparison c = cmp(model, target_read(other), names, other);
  EXPECT_TRUE(c.equal);
  EXPECT_EQ(c.match, Match::UncheckedData);
  EXPECT_FALSE(cmp(model, target_read(std::span(other).first(512)), names).equal);
}

TEST(CompareOutcomes, SysfsTextIsComparedLiterally) {
  Renaming names;
  EXPECT_TRUE(cmp(text_outcome("131072"), text_outcome("131072"), names).equal);
  Comparison c = cmp(text_outcome("131072"), text_outcome("0"), names);
  EXPECT_FALSE(c.equal);
  EXPECT_EQ(c.why, "model \"131072\", target \"0\"");
  EXPECT_TRUE(cmp(text_outcome("/img"), text_outcome("/img"), names).equal);
}

TEST(CompareOutcomes, ABackingFileNamingALoopDeviceIsRenamedByIndex) {
  Renaming names;
  EXPECT_TRUE(cmp(text_outcome("/dev/loop0"), text_outcome("/dev/loop17"), names).equal);
  EXPECT_EQ(names.to_target(RenameKind::DevIndex, 0), std::optional<uint64_t>(17));
  EXPECT_FALSE(cmp(text_outcome("/dev/loop0"), text_outcome("/dev/loop18"), names).equal);
  // The pair shares the namespace of returned indices.
  EXPECT_FALSE(
      cmp(Outcome::ok(1, ValueRole::DevIndex), Outcome::ok(17, ValueRole::DevIndex), names).equal);
  // Only a whole number after the prefix names a device; anything else is plain text.
  EXPECT_FALSE(cmp(text_outcome("/dev/loop0"), text_outcome("/dev/loop17p1"), names).equal);
  EXPECT_TRUE(cmp(text_outcome("/dev/loop0p1"), text_outcome("/dev/loop0p1"), names).equal);
  EXPECT_FALSE(cmp(text_outcome("/dev/loop3p1"), text_outcome("/dev/loop4p1"), names).equal);
}

// `512 | EIO`: the model's main outcome or its alternative errno.
TEST(CompareOutcomes, AnErrnoEnvelopeAdmitsItsErrnoAndNothingElse) {
  Renaming names;
  Outcome model = Outcome::ok(512);
  model.also_err = EIO;
  EXPECT_TRUE(cmp(model, Outcome::ok(512), names).equal);
  Comparison eio = cmp(model, Outcome::error(EIO), names);
  EXPECT_TRUE(eio.equal);
  EXPECT_EQ(eio.match, Match::EnvelopeErrno);
  EXPECT_FALSE(cmp(model, Outcome::error(EINVAL), names).equal);
  EXPECT_FALSE(cmp(model, Outcome::ok(511), names).equal);
  // The alternative is a whole outcome, not a field: an errno model has no value.
  EXPECT_FALSE(cmp(Outcome::ok(512), Outcome::error(EIO), names).equal);
}

// `1..61441 | EIO` on a read: readahead decides how much is cached.
TEST(CompareOutcomes, ACountEnvelopeOnAReadAdmitsCountsInsideItUnchecked) {
  Renaming names;
  Outcome model = pattern_read(61441, 3);
  model.min_value = 1;
  model.also_err = EIO;
  const std::vector<uint8_t> full = bytes_of(model);
  const std::vector<uint8_t> junk(4096, 0x5a);

  Comparison short_read = cmp(model, target_read(junk), names, junk);
  EXPECT_TRUE(short_read.equal) << short_read.why;
  EXPECT_EQ(short_read.match, Match::EnvelopeCount)
      << "bytes of a count inside the envelope are unchecked";
  EXPECT_TRUE(cmp(model, target_read(std::span(junk).first(1)), names).equal) << "lower bound";
  EXPECT_TRUE(cmp(model, Outcome::error(EIO), names).equal);

  // The full count is the main outcome: its bytes are checked.
  Comparison whole = cmp(model, target_read(full), names, full);
  EXPECT_TRUE(whole.equal) << whole.why;
  EXPECT_EQ(whole.match, Match::Exact);
  std::vector<uint8_t> wrong = full;
  wrong[0] ^= 1;
  EXPECT_FALSE(cmp(model, target_read(wrong), names, wrong).equal);

  Outcome zero;
  zero.kind = Outcome::Kind::Data;
  zero.value = 0;
  EXPECT_FALSE(cmp(model, zero, names).equal) << "below the envelope";
  std::vector<uint8_t> longer = full;
  longer.push_back(0);
  Comparison over = cmp(model, target_read(longer), names, longer);
  EXPECT_FALSE(over.equal) << "above the envelope";
  EXPECT_EQ(over.why, "bytes transferred: model 61441, target 61442");
  EXPECT_FALSE(cmp(model, Outcome::error(ENOSPC), names).equal);
}

TEST(CompareOutcomes, ACountEnvelopeOnAPlainValueAdmitsCountsInsideIt) {
  Renaming names;
  Outcome model = Outcome::ok(61441);  // a pwrite's count
  model.min_value = 4096;
  EXPECT_TRUE(cmp(model, Outcome::ok(4096), names).equal);
  EXPECT_TRUE(cmp(model, Outcome::ok(61440), names).equal);
  EXPECT_FALSE(cmp(model, Outcome::ok(4095), names).equal);
  EXPECT_FALSE(cmp(model, Outcome::ok(61442), names).equal);
  EXPECT_FALSE(cmp(model, Outcome::error(EIO), names).equal) << "no errno alternative given";
}

// Every non-exact match names the part of the outcome it went through and the
// model rule that widened it.
TEST(CompareOutcomes, ANonExactMatchNamesItsPartAndTheModelRule) {
  Renaming names;
  Outcome model = pattern_read(8192, 3);
  model.also_err = EIO;
  model.err_rule = EnvelopeRule::RundownReadahead;
  model.min_value = 4096;
  model.count_rule = EnvelopeRule::ReadPastUnalignedEof;
  const std::vector<uint8_t> full = bytes_of(model);

  Comparison exact = cmp(model, target_read(full), names, full);
  EXPECT_EQ(exact.match, Match::Exact);
  EXPECT_EQ(exact.rule, EnvelopeRule::None);

  Comparison eio = cmp(model, Outcome::error(EIO), names);
  EXPECT_EQ(eio.match, Match::EnvelopeErrno);
  EXPECT_EQ(eio.rule, EnvelopeRule::RundownReadahead);

  Comparison part = cmp(model, target_read(std::span(full).first(4096)), names);
  EXPECT_EQ(part.match, Match::EnvelopeCount);
  EXPECT_EQ(part.rule, EnvelopeRule::ReadPastUnalignedEof);

  Outcome stale = pattern_read(4096, 3);
  stale.data_known = false;
  stale.data_rule = EnvelopeRule::StaleCache;
  const std::vector<uint8_t> other(4096, 0xcd);
  Comparison unchecked = cmp(stale, target_read(other), names, other);
  EXPECT_EQ(unchecked.match, Match::UncheckedData);
  EXPECT_EQ(unchecked.rule, EnvelopeRule::StaleCache);
  EXPECT_TRUE(unchecked.data_unchecked());

  Outcome written = Outcome::ok(8192);
  written.min_value = 4096;
  written.count_rule = EnvelopeRule::RmwBlockMaybeCached;
  Comparison short_write = cmp(written, Outcome::ok(4096), names);
  EXPECT_EQ(short_write.match, Match::EnvelopeCount);
  EXPECT_EQ(short_write.rule, EnvelopeRule::RmwBlockMaybeCached);
}

TEST(CompareOutcomes, AnEnvelopeWithoutARuleIsReportedAsUnattributed) {
  Renaming names;
  Outcome model = Outcome::ok(0);
  model.also_err = EIO;  // no err_rule: a model place that forgot to tag itself
  Comparison c = cmp(model, Outcome::error(EIO), names);
  EXPECT_TRUE(c.equal);
  EXPECT_EQ(c.rule, EnvelopeRule::Unattributed);
}

TEST(ToModelNames, RenamedNumbersGoBackToTheModelsNames) {
  Renaming names;
  ASSERT_TRUE(names.unify(RenameKind::Fd, 3, 11));
  ASSERT_TRUE(names.unify(RenameKind::DevIndex, 0, 17));
  ASSERT_TRUE(names.unify(RenameKind::Device, 0x801, 0xfd01));
  ASSERT_TRUE(names.unify(RenameKind::Inode, 12, 777));
  ASSERT_TRUE(names.unify(RenameKind::Rdevice, 0x700, 0x711));

  EXPECT_EQ(to_model_names(Outcome::ok(11, ValueRole::Fd), names).value, 3);
  EXPECT_EQ(to_model_names(Outcome::ok(17, ValueRole::DevIndex), names).value, 0);
  EXPECT_EQ(to_model_names(Outcome::ok(11), names).value, 11) << "plain values are not names";
  EXPECT_EQ(to_model_names(Outcome::ok(12, ValueRole::Fd), names).value, 12)
      << "an unpaired number stays as the target gave it";

  Outcome st = to_model_names(status_outcome(status(17, 0xfd01, 777, 0x711)), names);
  EXPECT_EQ(st.status, status(0, 0x801, 12, 0x700));
  EXPECT_EQ(to_model_names(text_outcome("/dev/loop17"), names).text_view(), "/dev/loop0");
  EXPECT_EQ(to_model_names(text_outcome("/var/tmp/img"), names).text_view(), "/var/tmp/img");
  EXPECT_EQ(to_model_names(Outcome::error(EBADF), names).err, EBADF);
}

UeventList events(std::initializer_list<Uevent> list) {
  UeventList out;
  for (const Uevent& e : list) out.push(e);
  return out;
}

TEST(CompareOutcomes, UeventsAreComparedInOrderWithDevicesRenamed) {
  Renaming names;
  const Uevent model_add{UeventAction::Add, UeventDetail::None, 0, 0, 8};
  const Uevent target_add{UeventAction::Add, UeventDetail::None, 0, 0, 4711};
  EXPECT_TRUE(
      cmp(Outcome::events(events({model_add})), Outcome::events(events({target_add})), names)
          .equal);
  EXPECT_EQ(names.to_model(RenameKind::DevIndex, 4711), 8u);
  Uevent model_part{UeventAction::Remove, UeventDetail::None, 1, 0, 8};
  Uevent target_part{UeventAction::Remove, UeventDetail::None, 1, 0, 4711};
  EXPECT_TRUE(cmp(Outcome::events(events({model_part, model_add})),
                  Outcome::events(events({target_part, target_add})), names)
                  .equal);
  const Comparison order = cmp(Outcome::events(events({model_part, model_add})),
                               Outcome::events(events({target_add, target_part})), names);
  EXPECT_FALSE(order.equal);
  EXPECT_EQ(order.why, "model \"remove loop8p1, add loop8\", target \"add loop8, remove loop8p1\"");
  const Uevent other{UeventAction::Add, UeventDetail::None, 0, 0, 4712};
  EXPECT_FALSE(
      cmp(Outcome::events(events({model_add})), Outcome::events(events({other})), names).equal)
      << "loop8 is loop4711 for the rest of the run";
  EXPECT_FALSE(
      cmp(Outcome::events(events({})), Outcome::events(events({target_add})), names).equal);
}

TEST(CompareOutcomes, UeventsALossyListenerCannotCheckAreUnchecked) {
  Renaming names;
  UeventList lost = events({});
  lost.lost = 1;
  const Comparison c = cmp(Outcome::events(events({})), Outcome::events(lost), names);
  EXPECT_TRUE(c.equal);
  EXPECT_EQ(c.match, Match::UncheckedData);
  EXPECT_EQ(c.rule, EnvelopeRule::UeventsLostByTarget);
}

}  // namespace
}  // namespace loopcheck
