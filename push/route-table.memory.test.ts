import { routeTableContract } from './route-table.contract.ts';
import { MemoryRouteTable } from './route-table.memory.ts';

routeTableContract('memory', () => Promise.resolve({ table: new MemoryRouteTable(), close: () => Promise.resolve() }));
