import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';

const app = new App({ outdir: '/tmp/t1out' });
class S extends Stack {
  constructor(s: App, id: string) {
    super(s, id);
    console.log(
      'children',
      this.node.children.map((c) => c.node.id),
    );
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const logs = new s3.Bucket(this, 'Logs');
    new s3.Bucket(this, 'B', { serverAccessLogsBucket: logs });
  }
}
const st = new S(app, 'X');
const a = app.synth();
console.log(JSON.stringify(a.getStackByName('X').template.Resources, null, 0).slice(0, 1500));
