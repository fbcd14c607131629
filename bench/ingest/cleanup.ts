// What a benchmark created on the shared local stack is removed when it ends: its Kafka topics and
// its lake prefix. Each run writes a few GB (HTTP-ingested events plus the perf-test topic), and
// leftovers of many runs fill the disk other developers' stack runs on.
import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Kafka } from 'kafkajs';

export async function removeBenchData(kafka: Kafka, topics: string[], s3?: { client: S3Client; bucket: string; prefix: string }): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const ours = topics.filter((t) => existing.has(t));
    if (ours.length > 0) await admin.deleteTopics({ topics: ours, timeout: 60_000 });
  } catch (err) {
    process.stderr.write(`bench cleanup: topics ${topics.join(', ')} not removed: ${(err as Error).message}\n`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  if (!s3) return;
  try {
    let token: string | undefined;
    do {
      const page = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${s3.prefix}/`, ContinuationToken: token }));
      const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (keys.length > 0) await s3.client.send(new DeleteObjectsCommand({ Bucket: s3.bucket, Delete: { Objects: keys, Quiet: true } }));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (err) {
    process.stderr.write(`bench cleanup: lake prefix ${s3.prefix} not removed: ${(err as Error).message}\n`);
  }
}
