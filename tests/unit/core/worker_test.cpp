#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdlib>
#include <vector>

#include "core/error.h"
#include "core/worker.h"

using namespace rdasim::core;

TEST_CASE("share_out deals the most work first onto the least loaded share", "[core][worker]") {
  // 7, 5, 4, 3, 1 over two: 7 | 5, then 4 -> the 5 share (9), 3 -> the 7 share (10), 1 -> 9.
  const auto shares = share_out({{3, 0}, {7, 1}, {1, 2}, {5, 3}, {4, 4}}, 2);
  REQUIRE(shares.size() == 2);
  CHECK(shares[0] == std::vector<std::size_t>{0, 1});
  CHECK(shares[1] == std::vector<std::size_t>{2, 3, 4});
  CHECK(share_out({}, 0).size() == 1);
}

TEST_CASE("a worker sends back its result, its input error as one, and its death by signal", "[core][worker]") {
  CHECK(Worker([] { return Json{{"answer", 42}}; }).wait().at("answer") == 42);
  CHECK_THROWS_AS(Worker([]() -> Json { throw InputError("bad input"); }).wait(), InputError);
  CHECK_THROWS_WITH(Worker([]() -> Json { throw InputError("bad input"); }).wait(),
                    Catch::Matchers::Contains("bad input"));
  CHECK_THROWS_AS(Worker([]() -> Json { std::abort(); }).wait(), WorkerDied);
}

TEST_CASE("run_in_workers returns each result by index, here or in workers side by side", "[core][worker]") {
  for (const int jobs : {1, 3}) {
    std::vector<std::size_t> done;
    const auto results = run_in_workers(
        5, jobs, [](std::size_t i) { return Json(i * i); }, [&](std::size_t i, const Json&) { done.push_back(i); });
    REQUIRE(results.size() == 5);
    for (std::size_t i = 0; i < 5; ++i) CHECK(results[i].get<std::size_t>() == i * i);
    CHECK(done.size() == 5);
  }
  // One worker's input error reaches the caller as one.
  CHECK_THROWS_AS(run_in_workers(4, 2,
                                 [](std::size_t i) -> Json {
                                   if (i == 2) throw InputError("point 2 is bad");
                                   return Json(i);
                                 }),
                  InputError);
}
