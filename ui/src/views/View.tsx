import type { UIView } from '../../../src/core/ui.js';
import { ActionsView } from './ActionsView.js';
import { CardsView } from './CardsView.js';
import { CustomView } from './CustomView.js';
import { FormView } from './FormView.js';
import { GraphView } from './GraphView.js';
import { HealthView } from './HealthView.js';
import { JsonView } from './JsonView.js';
import { KeyValueView } from './KeyValueView.js';
import { LogStreamView } from './LogStreamView.js';
import { TableView } from './TableView.js';
import { ViewFrame } from './common.js';

/** Renders one view descriptor; an unknown kind (a newer server) says so instead of failing. */
export function View({ view }: { view: UIView }) {
  switch (view.kind) {
    case 'table':
      return <TableView {...view} />;
    case 'keyValue':
      return <KeyValueView {...view} />;
    case 'json':
      return <JsonView {...view} />;
    case 'health':
      return <HealthView {...view} />;
    case 'logStream':
      return <LogStreamView {...view} />;
    case 'form':
      return <FormView {...view} />;
    case 'actions':
      return <ActionsView {...view} />;
    case 'cards':
      return <CardsView {...view} />;
    case 'graph':
      return <GraphView {...view} />;
    case 'custom':
      return <CustomView {...view} />;
    default:
      return (
        <ViewFrame title={(view as { title?: string }).title}>
          <p className="note">
            This panel cannot show views of kind “{(view as { kind: string }).kind}” yet.
          </p>
        </ViewFrame>
      );
  }
}
