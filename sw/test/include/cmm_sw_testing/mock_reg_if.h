// GMock register bus for driver unit tests: use StrictMock<MockRegIf> inside a
// ::testing::InSequence scope and the expect_* helpers to require the EXACT
// access sequence (address, read/write, value, response) of an operation.
#pragma once
#include <gmock/gmock.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "cmm_sw/reg_if.h"

namespace cmm::sw::testing {

class MockRegIf : public RegIf {
 public:
  MOCK_METHOD(BusStatus, read32, (uint32_t addr, uint32_t& data), (override));
  MOCK_METHOD(BusStatus, write32, (uint32_t addr, uint32_t data), (override));
  MOCK_METHOD(BusStatus, write_block, (uint32_t addr, const uint8_t* data, size_t len), (override));
  MOCK_METHOD(BusStatus, read_block, (uint32_t addr, uint8_t* data, size_t len), (override));
};

// One read of addr answered with value and status st.
inline void expect_read(MockRegIf& m, uint32_t addr, uint32_t value, BusStatus st = BusStatus::kOk) {
  EXPECT_CALL(m, read32(addr, ::testing::_))
      .WillOnce(::testing::DoAll(::testing::SetArgReferee<1>(value), ::testing::Return(st)));
}

// One write of exactly value to addr, answered with st.
inline void expect_write(MockRegIf& m, uint32_t addr, uint32_t value, BusStatus st = BusStatus::kOk) {
  EXPECT_CALL(m, write32(addr, value)).WillOnce(::testing::Return(st));
}

// One write of any value to addr (e.g. a generated key word); the value is stored in *seen.
inline void expect_write_any(MockRegIf& m, uint32_t addr, uint32_t* seen, BusStatus st = BusStatus::kOk) {
  EXPECT_CALL(m, write32(addr, ::testing::_)).WillOnce([seen, st](uint32_t, uint32_t v) {
    if (seen) *seen = v;
    return st;
  });
}

// One burst write of exactly these bytes to addr.
inline void expect_write_block(MockRegIf& m, uint32_t addr, std::vector<uint8_t> bytes,
                               BusStatus st = BusStatus::kOk) {
  const size_t n = bytes.size();
  EXPECT_CALL(m, write_block(addr, ::testing::_, n))
      .WillOnce([bytes = std::move(bytes), st](uint32_t, const uint8_t* d, size_t len) {
        EXPECT_TRUE(std::equal(d, d + len, bytes.begin())) << "burst payload differs";
        return st;
      });
}

// One burst read of bytes.size() bytes from addr, answered with bytes.
inline void expect_read_block(MockRegIf& m, uint32_t addr, std::vector<uint8_t> bytes,
                              BusStatus st = BusStatus::kOk) {
  const size_t n = bytes.size();
  EXPECT_CALL(m, read_block(addr, ::testing::_, n))
      .WillOnce([bytes = std::move(bytes), st](uint32_t, uint8_t* d, size_t len) {
        if (st == BusStatus::kOk) std::copy(bytes.begin(), bytes.begin() + static_cast<long>(len), d);
        return st;
      });
}

}  // namespace cmm::sw::testing
