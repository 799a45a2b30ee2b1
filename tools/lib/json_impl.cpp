// Boost.JSON is used header-only: Debian ships no libboost_json, so its
// implementation is compiled here, once.
#include <boost/json/src.hpp>
