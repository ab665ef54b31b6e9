#pragma once
// The report's data files (lib/dist2/report/data/*.yaml), compiled into the
// binary so that `dist2 report` works from any folder. The build generates the
// definition from the files (cmake/embed_files.cmake).
#include <string>

namespace dist2::report {

// The text of data file `name` ("layouts.yaml"); throws dist2::Error for an unknown name.
const std::string& embedded_data_file(const std::string& name);

}  // namespace dist2::report
