// Boost.JSON is used header-only: this is the one translation unit that compiles its sources, so
// the project needs no separately built Boost library.
#include <boost/json/src.hpp>
