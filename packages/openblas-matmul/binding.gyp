{
  "variables": {
    "openblas_home%": "<!(node -p \"process.env.OPENBLAS_HOME || ''\")"
  },
  "targets": [
    {
      "target_name": "openblas_matmul",
      "sources": ["src/addon.c"],
      "cflags": ["-O3", "-std=c11", "-Wall"],
      "libraries": ["-lopenblas"],
      "conditions": [
        ["openblas_home!=''", {
          "include_dirs": ["<(openblas_home)/include"],
          "libraries": ["-L<(openblas_home)/lib", "-Wl,-rpath,<(openblas_home)/lib"]
        }]
      ]
    }
  ]
}
