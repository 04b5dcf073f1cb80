// Mermaid's own reading of every ```mermaid block in a Markdown file (stdin): the diagram's
// type and, for a gantt, its tasks as Mermaid's gantt database holds them. A block Mermaid can't
// parse is an error (exit 1).
import { JSDOM } from 'jsdom';

const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');

let input = '';
for await (const chunk of process.stdin) input += chunk;
const blocks = [...input.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1]);
const out = [];
for (const text of blocks) {
  const { diagramType } = await mermaid.parse(text);
  const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
  const tasks = diagramType === 'gantt' ? diagram.db.getTasks().map((t) => ({
    task: t.task.trim(), section: t.section, id: t.id,
    start: +t.startTime, end: +t.endTime,
    done: !!t.done, crit: !!t.crit, active: !!t.active,
  })) : [];
  out.push({ type: diagramType, title: diagram.db.getDiagramTitle?.() ?? '', tasks });
}
process.stdout.write(JSON.stringify(out));
