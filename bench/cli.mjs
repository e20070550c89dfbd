// The benches' command-line options: `--name value`, or the default when absent.
export const option = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
export const numberOption = (name, dflt) => Number(option(name, dflt));
