/** Types of charts.js (uPlot) for the TypeScript web app (web/app). */
export interface TimeChart {
  set(x: number[], ys: (number | null)[][], range?: [number, number]): void;
}
export function timeChart(el: HTMLElement, title: string, labels: string[], opts?: { width?: number }): TimeChart;
