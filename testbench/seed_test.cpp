// The one seed mixer (hw/src/cmm_seed.h): pinned to the outputs of the
// private copies it replaced, so no seed-derived stream of a run can change.
#include <gtest/gtest.h>

#include "cmm_seed.h"

namespace {

using namespace cmm::seed;

// SplitMix64's published first outputs from state 0.
static_assert(splitmix(0) == 0xE220A8397B1DCDAFull);

TEST(SeedMixer, SplitmixIsTheReferenceGenerator) {
  uint64_t s = 0;
  EXPECT_EQ(splitmix_next(s), 0xE220A8397B1DCDAFull);
  EXPECT_EQ(splitmix_next(s), 0x6E789E6AA1B965F4ull);
  EXPECT_EQ(splitmix_next(s), 0x06C45D188009454Full);
  EXPECT_EQ(s, 3 * kGolden);
  EXPECT_EQ(splitmix(12345), 0x22118258A9D111A0ull);
}

TEST(SeedMixer, CombineKeepsTheTestbenchArithmetic) {
  // The old testbench mix(a, b) on a sender's stream and an attacker's.
  EXPECT_EQ(combine(1, 0x5E4D0000ull), 0xD640497473F8BEC5ull);
  EXPECT_EQ(combine(~uint64_t{0}, 0xBADull + 3), 0xEE205150BF2778A8ull);
  EXPECT_NE(combine(1, 2), combine(2, 1));  // order matters: seed first, salt second
}

}  // namespace
