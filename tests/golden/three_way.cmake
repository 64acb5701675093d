# Three-way agreement of a workload (issue: C++ builder, PyTorch twin, ONNX export): the ONNX
# model exported from the twin and the builder's graph at the same configuration have the
# same parameter count and FLOPs, and the builder's graph with the twin's weights reproduces
# the twin's outputs (rdasim check, fp32, default tolerance).
#   cmake -DRDASIM=<rdasim> -DCASE=<workloads/models/NAME> -P three_way.cmake
file(READ "${CASE}/builder.txt" builder)
string(STRIP "${builder}" builder)
separate_arguments(builder_args UNIX_COMMAND "${builder}")

function(totals out_params out_flops)
  execute_process(COMMAND "${RDASIM}" graph ${ARGN} --json
                  OUTPUT_VARIABLE json ERROR_VARIABLE err RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "rdasim graph ${ARGN} failed (${status}): ${err}")
  endif()
  string(JSON params GET "${json}" totals params)
  string(JSON flops GET "${json}" totals flops)
  set(${out_params} "${params}" PARENT_SCOPE)
  set(${out_flops} "${flops}" PARENT_SCOPE)
endfunction()

totals(onnx_params onnx_flops "${CASE}/model.onnx")
totals(builder_params builder_flops ${builder_args})
message(STATUS "params: ONNX ${onnx_params}, builder ${builder_params}; FLOPs: ONNX ${onnx_flops}, builder ${builder_flops}")
if(NOT onnx_params EQUAL builder_params)
  message(FATAL_ERROR "parameter counts differ: ONNX ${onnx_params}, builder ${builder_params}")
endif()
if(NOT onnx_flops STREQUAL builder_flops)
  message(FATAL_ERROR "FLOPs differ: ONNX ${onnx_flops}, builder ${builder_flops}")
endif()

execute_process(COMMAND "${RDASIM}" check ${builder_args} --weights "${CASE}/model.onnx" --inputs "${CASE}"
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE status)
message(STATUS "${out}")
if(NOT status EQUAL 0)
  message(FATAL_ERROR "the builder's graph with the twin's weights does not reproduce the twin (${status}): ${err}")
endif()
