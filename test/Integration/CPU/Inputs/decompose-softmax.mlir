// Decomposes linalg.softmax (which adamas-cpu-pipeline does not lower) into
// linalg ops, for running unraised attention programs. Use with
//   --transform-preload-library="transform-library-paths=THIS" --transform-interpreter
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %softmax = transform.structured.match ops{["linalg.softmax"]} in %root
        : (!transform.any_op) -> !transform.any_op
    %parts = transform.structured.decompose_interface %softmax
        : (!transform.any_op) -> !transform.any_op
    transform.yield
  }
}
