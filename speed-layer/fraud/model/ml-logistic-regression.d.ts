// ml-logistic-regression ships no types: the part train.ts uses.
declare module 'ml-logistic-regression' {
  import type { Matrix } from 'ml-matrix';
  export default class LogisticRegression {
    constructor(options?: { numSteps?: number; learningRate?: number });
    classifiers: unknown[];
    train(x: Matrix, y: Matrix): void;
  }
}
