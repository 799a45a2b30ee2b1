#define BOOST_TEST_MODULE pyk
#include <boost/test/unit_test.hpp>
