// Azure Pipelines' reading of a log, by Microsoft's own parser (azure-pipelines-task-lib's
// commandFromString): every line with `##vso[` anywhere (any case) is a command, and every line
// that starts with `##[` a formatting command. Reads the log on stdin, prints them as JSON.
const { commandFromString } = require('azure-pipelines-task-lib/taskcommand');
let input = '';
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', () => {
  const found = [];
  for (const line of input.split(/\r?\n|\r/)) {
    const at = line.toLowerCase().indexOf('##vso[');
    if (at >= 0) {
      try {
        const c = commandFromString(line.substring(at));
        found.push({ at, command: c.command, properties: c.properties, message: c.message });
      } catch (e) {
        found.push({ at, invalid: line, error: String(e.message) });
      }
    } else if (line.trimStart().startsWith('##[')) {
      found.push({ at: 0, format: line.trimStart() });
    }
  }
  process.stdout.write(JSON.stringify(found));
});
