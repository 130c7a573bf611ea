// The one translation unit that compiles Boost.Asio, Asio's SSL support and Boost.Beast
// (separate compilation, BOOST_ASIO_SEPARATE_COMPILATION / BOOST_BEAST_SEPARATE_COMPILATION).
// Nothing else may include these src.hpp files; everything using Asio links phrgate_asio.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
