// A tiny assertion helper for the C++ tests of include/pmdeflate.hpp.
// Each CHECK counts one assertion; a failure prints where and what, and the
// test goes on. check_finish() prints the line tests/cpp/run.sh counts,
//     CHECK-SUMMARY <test> passed=<n> failed=<m>
// and returns main()'s exit status.
#ifndef PMD_TEST_CHECK_HPP
#define PMD_TEST_CHECK_HPP

#include <cstdio>
#include <exception>
#include <string>

#include "pmdeflate.hpp"

namespace check {
inline unsigned long passed = 0;
inline unsigned long failed = 0;

inline bool that(bool ok, const char *file, int line, const std::string &what) {
    if (ok) {
        passed++;
    } else {
        failed++;
        std::fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what.c_str());
    }
    return ok;
}

inline int finish(const char *name) {
    std::printf("CHECK-SUMMARY %s passed=%lu failed=%lu\n", name, passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
}  // namespace check

#define CHECK(cond) check::that(static_cast<bool>(cond), __FILE__, __LINE__, #cond)
#define CHECK_EQ(a, b) \
    check::that((a) == (b), __FILE__, __LINE__, std::string(#a " == " #b))
// A result of the nothrow flavour holds the expected code.
#define CHECK_CODE(res, want)                                                                         \
    do {                                                                                              \
        const auto &r_ = (res);                                                                       \
        check::that(r_.code() == (want), __FILE__, __LINE__,                                          \
                    std::string(#res " is " #want ", got ") + std::string(pmd::result_name(r_.code())) + \
                        (r_.ok() ? std::string() : " (" + r_.error().detail() + ")"));                \
    } while (0)
// An expression of the throwing flavour throws pmd::error with this code.
#define CHECK_THROWS(expr, want)                                                                       \
    do {                                                                                                \
        bool thrown_ = false;                                                                           \
        try {                                                                                           \
            (void)(expr);                                                                               \
        } catch (const pmd::error &e_) {                                                                \
            thrown_ = true;                                                                             \
            check::that(e_.code() == (want), __FILE__, __LINE__,                                        \
                        std::string(#expr " throws " #want ", got ") + std::string(pmd::result_name(e_.code()))); \
            check::that(e_.close_code() == pmd::close_code(want) && !e_.detail().empty() &&             \
                            std::string(e_.what()).find(std::string(pmd::result_name(want))) == 0,      \
                        __FILE__, __LINE__, std::string(#expr ": close code, detail and what()"));       \
        } catch (const std::exception &e_) {                                                            \
            check::that(false, __FILE__, __LINE__, std::string(#expr " threw another type: ") + e_.what()); \
            thrown_ = true;                                                                             \
        }                                                                                               \
        if (!thrown_) check::that(false, __FILE__, __LINE__, std::string(#expr " did not throw"));      \
    } while (0)
// An expression must not throw.
#define CHECK_NOTHROW(expr)                                                                        \
    do {                                                                                            \
        try {                                                                                       \
            (void)(expr);                                                                           \
            check::passed++;                                                                        \
        } catch (const std::exception &e_) {                                                        \
            check::that(false, __FILE__, __LINE__, std::string(#expr " threw: ") + e_.what());      \
        }                                                                                           \
    } while (0)

#endif
