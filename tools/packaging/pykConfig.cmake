# CMake package for pyk: find_package(pyk) defines the imported target pyk::pyk.
# Paths are computed from this file's location (PREFIX/lib/cmake/pyk/), so an
# installed tree can be moved.
include(CMakeFindDependencyMacro)
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_dependency(Threads)

get_filename_component(_pyk_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET pyk::pyk)
  add_library(pyk::pyk STATIC IMPORTED)
  set_target_properties(pyk::pyk PROPERTIES
    IMPORTED_LOCATION "${_pyk_prefix}/lib/libpyk.a"
    IMPORTED_LINK_INTERFACE_LANGUAGES CXX
    INTERFACE_INCLUDE_DIRECTORIES "${_pyk_prefix}/include"
    INTERFACE_LINK_LIBRARIES Threads::Threads
    INTERFACE_COMPILE_FEATURES cxx_std_20)
endif()
unset(_pyk_prefix)
