// Compiled into each program built against the installed CMake package (rdasimConfig.cmake adds
// it to rdasim::core's sources, with RDASIM_INSTALLED_DATA_DIR set to that package's
// <prefix>/share/rdasim): a program embedding rdasim lives anywhere, so core::data_dir cannot
// find the data folder from the program's own path, and asks this instead.
extern "C" const char* rdasim_installed_data_dir() { return RDASIM_INSTALLED_DATA_DIR; }
