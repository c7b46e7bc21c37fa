// The kernel ABI the driver speaks: the real <linux/loop.h> and <linux/fs.h>
// structs and request numbers, with their x86_64 layout pinned (docs/semantics.md §1.3) so a
// header change or a 32-bit build fails at compile time instead of corrupting
// ioctl arguments.
#pragma once

#include <linux/fs.h>
#include <linux/loop.h>

#include <cstddef>
#include <cstdint>

namespace loopcheck::inproc {

static_assert(sizeof(void*) == 8, "the legacy struct loop_info layout below is x86_64's");

static_assert(sizeof(struct loop_info64) == 232);
static_assert(offsetof(struct loop_info64, lo_device) == 0);
static_assert(offsetof(struct loop_info64, lo_inode) == 8);
static_assert(offsetof(struct loop_info64, lo_rdevice) == 16);
static_assert(offsetof(struct loop_info64, lo_offset) == 24);
static_assert(offsetof(struct loop_info64, lo_sizelimit) == 32);
static_assert(offsetof(struct loop_info64, lo_number) == 40);
static_assert(offsetof(struct loop_info64, lo_encrypt_type) == 44);
static_assert(offsetof(struct loop_info64, lo_encrypt_key_size) == 48);
static_assert(offsetof(struct loop_info64, lo_flags) == 52);
static_assert(offsetof(struct loop_info64, lo_file_name) == 56);
static_assert(offsetof(struct loop_info64, lo_crypt_name) == 120);
static_assert(offsetof(struct loop_info64, lo_encrypt_key) == 184);
static_assert(offsetof(struct loop_info64, lo_init) == 216);

static_assert(sizeof(struct loop_config) == 304);
static_assert(offsetof(struct loop_config, fd) == 0);
static_assert(offsetof(struct loop_config, block_size) == 4);
static_assert(offsetof(struct loop_config, info) == 8);
static_assert(offsetof(struct loop_config, __reserved) == 240);

static_assert(sizeof(struct loop_info) == 168);
static_assert(offsetof(struct loop_info, lo_number) == 0);
static_assert(offsetof(struct loop_info, lo_device) == 8);
static_assert(offsetof(struct loop_info, lo_inode) == 16);
static_assert(offsetof(struct loop_info, lo_rdevice) == 24);
static_assert(offsetof(struct loop_info, lo_offset) == 32);
static_assert(offsetof(struct loop_info, lo_encrypt_type) == 36);
static_assert(offsetof(struct loop_info, lo_encrypt_key_size) == 40);
static_assert(offsetof(struct loop_info, lo_flags) == 44);
static_assert(offsetof(struct loop_info, lo_name) == 48);
static_assert(offsetof(struct loop_info, lo_encrypt_key) == 112);
static_assert(offsetof(struct loop_info, lo_init) == 144);
static_assert(offsetof(struct loop_info, reserved) == 160);

inline constexpr uint32_t kSectorSize = 512;
inline constexpr uint32_t kSectorShift = 9;
inline constexpr uint32_t kPageSize = 4096;
inline constexpr int kLoopMajor = 7;
// MINORMASK: a gendisk's first minor must fit 20 bits.
inline constexpr int64_t kMaxMinor = (1 << 20) - 1;
inline constexpr int64_t kLlongMax = INT64_MAX;

// LOOP_CONFIGURE_SETTABLE_FLAGS etc. are macros in newer headers only; spell them.
inline constexpr uint32_t kConfigureSettableFlags =
    LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR | LO_FLAGS_PARTSCAN | LO_FLAGS_DIRECT_IO;
inline constexpr uint32_t kSetStatusSettableFlags = LO_FLAGS_AUTOCLEAR | LO_FLAGS_PARTSCAN;
inline constexpr uint32_t kSetStatusClearableFlags = LO_FLAGS_AUTOCLEAR;

}  // namespace loopcheck::inproc
