import type { TestProject } from 'vitest/node';
import { type Emulator, startDynamoDbLocal, startSqsEmulator } from '../../local/emulators.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Endpoints of the emulators shared by the integration suite. */
    emulators: { dynamodb: string; sqs: string };
  }
}

let running: Emulator[] = [];

/** One DynamoDB Local and one fauxqs for the whole run; tests isolate by name prefix. */
export async function setup(project: TestProject): Promise<void> {
  const [dynamodb, sqs] = await Promise.all([startDynamoDbLocal(), startSqsEmulator()]);
  running = [dynamodb, sqs];
  project.provide('emulators', { dynamodb: dynamodb.endpoint, sqs: sqs.endpoint });
}

export async function teardown(): Promise<void> {
  await Promise.all(running.map((emulator) => emulator.stop()));
  running = [];
}
