// The agent's channel over a virtio-serial port, when the kernel command line
// says loopcheck_channel=virtio: the virtio console chain's modules the initramfs
// carries loaded in order (none when the kernel has them built in), then
// /dev/vport0p1 opened.
// Under TCG a 700-byte round trip costs ~0.2 ms this way against ~11 ms over
// the emulated 16550 (measured), which was most of a fuzz program's time.
#pragma once

#include <string>

namespace loopcheck::vm::agent {

// The port's fd; -1 with `why` empty when the host chose the serial line, -1
// with `why` when the port cannot be had.
int open_virtio_channel(int device_wait_ms, std::string* why);

}  // namespace loopcheck::vm::agent
