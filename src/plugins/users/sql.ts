export { identifier, isUniqueViolation, rows, run, type Executor } from '../database/tables.js';
