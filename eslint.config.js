// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const LIBRARIES = [
  "packages/core/**/*.ts",
  "packages/features/**/*.ts",
  "packages/lifecycle/**/*.ts",
  "packages/registry-client/**/*.ts",
  "packages/serving/**/*.ts",
];

export default tseslint.config(
  {
    ignores: [
      "**/dist/**",
      "**/node_modules/**",
      "**/.turbo/**",
      ".cache/**",
      "bench/.venv/**",
      "bench/out/**",
      "**/*.js",
      "**/*.mjs",
      "**/*.cjs",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "@typescript-eslint/switch-exhaustiveness-check": "error",
      "@typescript-eslint/consistent-type-imports": [
        "error",
        { fixStyle: "inline-type-imports" },
      ],
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "max-params": ["error", 3],
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["@streamflow/*/src/*"],
              message: "Import the package entry, not its internals.",
            },
          ],
        },
      ],
    },
  },
  {
    files: LIBRARIES.filter((f) => !f.includes("test")),
    ignores: ["**/*.test.ts", "**/test/**"],
    rules: {
      "no-console": "error",
      "no-restricted-imports": [
        "error",
        {
          paths: [{ name: "commander", message: "Only the CLI parses argv." }],
          patterns: [
            {
              group: ["@streamflow/cli", "@streamflow/*/src/*"],
              message:
                "Libraries never import the CLI or another package's internals.",
            },
          ],
        },
      ],
      "no-restricted-properties": [
        "error",
        {
          object: "process",
          property: "exit",
          message: "Libraries never exit: throw a StreamflowError.",
        },
        {
          object: "process",
          property: "env",
          message: "Libraries never read env: take an option.",
        },
        {
          object: "process",
          property: "argv",
          message: "Libraries never read argv.",
        },
      ],
    },
  },
  {
    files: ["packages/core/**/*.ts"],
    ignores: ["**/*.test.ts", "**/test/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [
            "pg",
            "@electric-sql/pglite",
            "axios",
            "commander",
            "node:http",
            "node:https",
            "node:net",
          ].map((name) => ({ name, message: "core is pure: no I/O." })),
          patterns: [
            {
              group: ["@streamflow/*"],
              message: "core depends on nothing of ours.",
            },
          ],
        },
      ],
    },
  },
  {
    files: [
      "**/*.test.ts",
      "**/test/**/*.ts",
      "bench/**/*.ts",
      "scripts/**/*.ts",
    ],
    rules: {
      "@typescript-eslint/require-await": "off",
      "max-params": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
);
