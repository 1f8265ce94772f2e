// Byte reader shared by the fuzz harnesses: reads past the end return 0, so
// every input, however short, is a complete stimulus.
#pragma once
#include <cstddef>
#include <cstdint>

struct Reader {
  const uint8_t* p;
  size_t n;
  bool empty() const { return n == 0; }
  uint8_t u8() {
    if (!n) return 0;
    --n;
    return *p++;
  }
  uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
  uint32_t u32() { return u16() | (static_cast<uint32_t>(u16()) << 16); }
};
