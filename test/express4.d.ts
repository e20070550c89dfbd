// `express4` is an npm alias of express@4 (dev dependency) for testing both majors; it shares @types/express.
declare module 'express4' {
  import express from 'express';
  export default express;
}
