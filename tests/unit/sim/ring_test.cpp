// The simulator's FIFO ring (sim/cycle/ring.h): it keeps order through wrap-around and through
// growing while wrapped, which is when a port's arrivals are busiest.
#include <deque>

#include <catch2/catch.hpp>

#include "sim/cycle/ring.h"

namespace rdasim::sim {
namespace {

TEST_CASE("a ring keeps first-in first-out order as a deque does, through wrap-around and growth", "[ring]") {
  Ring<int> ring;
  std::deque<int> expected;
  CHECK(ring.empty());
  int next = 0;
  // Push three, pop two, over and over: the head walks around the array, and the ring grows
  // while its items straddle the array's end.
  for (int round = 0; round < 200; ++round) {
    for (int k = 0; k < 3; ++k) {
      ring.push_back(next);
      expected.push_back(next);
      ++next;
    }
    for (int k = 0; k < 2; ++k) {
      REQUIRE(ring.front() == expected.front());
      ring.pop_front();
      expected.pop_front();
    }
    REQUIRE(ring.size() == expected.size());
    REQUIRE(ring.back() == expected.back());
    for (std::size_t i = 0; i < expected.size(); i += 7) REQUIRE(ring[i] == expected[i]);
  }
  while (!expected.empty()) {
    REQUIRE(ring.front() == expected.front());
    ring.pop_front();
    expected.pop_front();
  }
  CHECK(ring.empty());
}

TEST_CASE("a ring's items may be changed in place", "[ring]") {
  Ring<double> ring;
  for (int i = 0; i < 5; ++i) ring.push_back(i);
  ring.pop_front();
  ring[1] = 40;
  ring.back() = 50;
  CHECK(ring.front() == 1);
  CHECK(ring[1] == 40);
  CHECK(ring[3] == 50);
}

}  // namespace
}  // namespace rdasim::sim
